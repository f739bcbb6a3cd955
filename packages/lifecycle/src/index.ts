export { startService } from './service-lifecycle.ts';
export type {
  LifecycleConfig,
  RunningService,
  ServiceContext,
  ServiceDefinition,
  ServiceState,
  StartOptions,
} from './service-lifecycle.ts';
export { exitProcess, runService } from './run-service.ts';
export type { RunServiceOptions, SignalSource } from './run-service.ts';
export { withDeadline } from './with-deadline.ts';
export { DEPENDENCY_PROBE_INTERVAL_MS, DEPENDENCY_PROBE_TIMEOUT_MS, startDependencyProbe, watchDependency } from './dependency-probe.ts';
export type { DependencyProbe, DependencyProbeOptions } from './dependency-probe.ts';
