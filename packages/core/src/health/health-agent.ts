import { parseDuration } from '../duration.js';
import type { HealthCheck } from '../service.js';
import type { HealthProbe, HealthStatus } from './probe.js';

export interface HealthAgentHooks {
  /** The check crossed a threshold: offer the instance as healthy or not. */
  setHealthy(healthy: boolean): Promise<void>;
  /** Critical for `deregisterAfter`: take the registration out (it comes back on recovery). */
  remove(): Promise<void>;
  /** Every result, for events and logs. */
  observe(status: HealthStatus, changed: boolean): void;
  /** A hook failed (the backend refused an update); the agent tries again next round. */
  fail(error: unknown): void;
}

const defaults = { interval: 10_000, timeout: 5_000 };

/**
 * Runs one registration's check on its interval and applies Consul's thresholds:
 * `failuresBeforeCritical` consecutive failures make it critical (marked unhealthy),
 * `successBeforePassing` consecutive passes make it passing again, and after
 * `deregisterAfter` of being critical it is removed until it passes again. Warning counts as
 * passing. A TTL check has no probe: the service reports its own status with `heartbeat()`,
 * which holds until the next one. It starts passing and does not expire here: the process
 * that would miss a beat is the one keeping time, so the lease or the process's own end takes
 * a dead instance out instead (the same contract as Consul, where the provider keeps the check fed).
 */
export class HealthAgent {
  readonly #check: HealthCheck;
  readonly #probe: { kind: string; target: string; run: HealthProbe } | undefined;
  readonly #hooks: HealthAgentHooks;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #deregisterAfterMs: number | undefined;
  readonly #controller = new AbortController();
  #status: HealthStatus = 'passing';
  #passes = 0;
  #failures = 0;
  #removed = false;
  #timer: NodeJS.Timeout | undefined;
  #removeTimer: NodeJS.Timeout | undefined;
  #round: Promise<void> = Promise.resolve();

  constructor(check: HealthCheck, probe: { kind: string; target: string; run: HealthProbe } | undefined, hooks: HealthAgentHooks) {
    this.#check = check;
    this.#probe = probe;
    this.#hooks = hooks;
    this.#intervalMs = parseDuration(check.interval ?? defaults.interval, 'health.interval');
    this.#timeoutMs = parseDuration(check.timeout ?? defaults.timeout, 'health.timeout');
    this.#deregisterAfterMs = check.deregisterAfter === undefined ? undefined : parseDuration(check.deregisterAfter, 'health.deregisterAfter');
  }

  get status(): HealthStatus {
    return this.#status;
  }

  /** Whether the registration is currently taken out (critical for longer than deregisterAfter). */
  get removed(): boolean {
    return this.#removed;
  }

  start(): void {
    if (this.#probe) this.#schedule(this.#intervalMs);
  }

  /** For TTL checks: the status the service reports, from now until the next call. */
  heartbeat(status: HealthStatus = 'passing'): Promise<void> {
    if (this.#controller.signal.aborted) return Promise.resolve(); // stopped (deregistered or withdrawn)
    this.#round = this.#round.then(() => this.#record(status));
    return this.#round;
  }

  /** Stops probing; resolves once a running probe and its hooks are done. */
  async stop(): Promise<void> {
    this.#controller.abort();
    clearTimeout(this.#timer);
    clearTimeout(this.#removeTimer);
    await this.#round;
  }

  #schedule(ms: number): void {
    if (this.#controller.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#round = this.#runProbe().finally(() => this.#schedule(this.#intervalMs));
    }, ms);
  }

  async #runProbe(): Promise<void> {
    const probe = this.#probe!;
    let status: HealthStatus;
    try {
      status = await probe.run(probe.target, { timeoutMs: this.#timeoutMs, signal: this.#controller.signal });
    } catch {
      status = 'critical';
    }
    if (!this.#controller.signal.aborted) await this.#record(status);
  }

  async #record(result: HealthStatus): Promise<void> {
    const failed = result === 'critical';
    this.#passes = failed ? 0 : this.#passes + 1;
    this.#failures = failed ? this.#failures + 1 : 0;
    const before = this.#status;
    try {
      if (failed && before !== 'critical' && this.#failures >= (this.#check.failuresBeforeCritical ?? 1)) {
        this.#status = 'critical';
        await this.#hooks.setHealthy(false);
        if (this.#deregisterAfterMs !== undefined) this.#removeTimer = setTimeout(() => void this.#remove(), this.#deregisterAfterMs);
      } else if (!failed && before === 'critical' && this.#passes >= (this.#check.successBeforePassing ?? 1)) {
        clearTimeout(this.#removeTimer);
        this.#status = result;
        this.#removed = false;
        await this.#hooks.setHealthy(true);
      } else if (!failed && before !== 'critical') {
        this.#status = result;
      }
    } catch (error) {
      // Roll back so the transition is tried again on the next result.
      this.#status = before;
      this.#hooks.fail(error);
    }
    this.#hooks.observe(result, this.#status !== before);
  }

  async #remove(): Promise<void> {
    if (this.#controller.signal.aborted || this.#status !== 'critical') return;
    try {
      await this.#hooks.remove();
      this.#removed = true;
    } catch (error) {
      this.#hooks.fail(error);
    }
  }
}
