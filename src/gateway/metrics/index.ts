export { breakerStateValues, createMetrics, type KeyOperation, type Metrics, type RequestLabels } from './metrics.js';
export { instrumentAuditLog, instrumentKeyManager, instrumentSealer } from './instrument.js';
export { metricsPlugin } from './plugin.js';
