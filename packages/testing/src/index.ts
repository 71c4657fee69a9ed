export { freePort, waitFor } from './ports.js';
export { findBinary, makeTempDir, removeDir, LaunchedProcess, type ProcessSpec } from './process-launcher.js';
export { HttpDouble, readBody, sendJson, type RequestHandler } from './http-double.js';
