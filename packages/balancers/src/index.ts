// Importing this module registers every strategy by name (`balancer: 'p2c'`,
// DISCOVERY_BALANCER=maglev); core imports it when it meets a name it does not know.
export { random, type RandomOptions } from './random.js';
export { weightedRoundRobin, type WeightedRoundRobinOptions } from './weighted-round-robin.js';
export { leastConnections, type LeastConnectionsOptions } from './least-connections.js';
export { p2c, type P2cOptions } from './p2c.js';
export { peakEwma, type PeakEwmaOptions } from './peak-ewma.js';
export { ringHash, type RingHashOptions } from './ring-hash.js';
export { maglev, type MaglevOptions } from './maglev.js';
export { zoneAware, type ZoneAwareOptions } from './zone-aware.js';
export { slowStart, type SlowStartOptions } from './slow-start.js';
export { outlierDetection, type OutlierDetectionOptions } from './outlier-detection.js';
export { seededRandom, type RandomSource } from './random-source.js';
