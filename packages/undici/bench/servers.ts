// Three HTTP servers in one process of their own, so the client being measured has its event
// loop to itself. Prints {pid, ports} once all listen. Run: node servers.ts
import { once } from 'node:events';
import { createServer } from 'node:http';

const ports: number[] = [];
for (let i = 0; i < 3; i++) {
  const server = createServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  ports.push((server.address() as { port: number }).port);
}
process.stdout.write(`${JSON.stringify({ pid: process.pid, ports })}\n`);
process.on('SIGTERM', () => process.exit(0));
