export { freePort, waitFor } from './ports.js';
export { findBinary, makeTempDir, removeDir, LaunchedProcess, type ProcessSpec } from './process-launcher.js';
export { HttpDouble, readBody, sendJson, type RequestHandler } from './http-double.js';
export { EtcdCluster, makeTestCertificates, type EtcdClusterOptions, type EtcdctlOptions, type EtcdMember, type EtcdTlsFiles, type TestCertificates } from './etcd-launcher.js';
export { describeProvider, type ConformanceBackend, type ConformanceOptions, type RoundTripField } from './conformance.js';
