// The names this package records under, in OpenTelemetry's semantic-convention style: dotted,
// lower case, units in UCUM (`s`, `{instance}`), `error.type` and `server.*` where a convention
// exists, and a `disco.` namespace for the rest. Exported so dashboards and tests name them once.

/** Every metric instrument, by role. */
export const metricNames = {
  instances: 'disco.instances',
  watchErrors: 'disco.watch.errors',
  watchStaleness: 'disco.watch.staleness',
  watchOutageDuration: 'disco.watch.outage.duration',
  registrations: 'disco.registrations',
  deregistrations: 'disco.deregistrations',
  operationDuration: 'disco.operation.duration',
  callDuration: 'disco.call.duration',
  callActive: 'disco.call.active',
  healthChecks: 'disco.health.checks',
  providerEvents: 'disco.provider.events',
} as const;

/** Every attribute key. */
export const attributeNames = {
  service: 'disco.service.name',
  provider: 'disco.provider.name',
  health: 'disco.instance.health',
  instanceId: 'disco.instance.id',
  serviceId: 'disco.service.id',
  operation: 'disco.operation.name',
  outcome: 'disco.call.outcome',
  healthStatus: 'disco.health.status',
  eventType: 'disco.event.type',
  instances: 'disco.instances',
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
} as const;

/** The operations traced as spans named `<operation> <service>` (`register users`). */
export const operationNames = ['register', 'deregister', 'discover'] as const;
export type OperationName = (typeof operationNames)[number];
