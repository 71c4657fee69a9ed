export { instrumentDiscovery, instrumentationScope, type DiscoveryInstrumentation, type DiscoveryInstrumentationOptions } from './instrument-discovery.js';
export { attributeNames, metricNames, operationNames, type OperationName } from './names.js';
