// One instance of the example's greeter service, in a process of its own so main.ts can kill it
// for real. Prints {"pid","port"} once listening. Run: node service.ts <name>
import { createServer } from 'node:http';

const name = process.argv[2] ?? 'greeter';
const server = createServer((req, res) => {
  if (req.url === '/health') return void res.end('ok');
  // A little work per request, so some are in flight when one instance dies.
  setTimeout(() => res.end(`hello from ${name}`), 2);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ pid: process.pid, port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
