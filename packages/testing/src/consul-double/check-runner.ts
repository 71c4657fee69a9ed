import { tryParseDuration } from '@disco/core';
import { probeGrpc } from './grpc-probe.js';
import { probeHttp, probeTcp, type ProbeResult } from './probes.js';
import type { ConsulRegistry } from './registry.js';
import type { CheckDefinition, CheckStatus } from './types.js';

interface Running {
  timer: NodeJS.Timeout | undefined;
  successes: number;
  failures: number;
  stopped: boolean;
}

/**
 * Runs the checks the agent owns, as Consul's agent does: HTTP, TCP and gRPC probes on their
 * interval (the first one after a random stagger within the interval), and TTL checks that go
 * critical when nobody reports within the TTL. Results pass through Consul's status handler:
 * `SuccessBeforePassing` consecutive successes before passing, `FailuresBeforeCritical`
 * consecutive failures before critical.
 */
export class CheckRunner {
  readonly #registry: ConsulRegistry;
  readonly #minIntervalMs: number;
  readonly #random: () => number;
  #running = new Map<string, Running>();

  constructor(registry: ConsulRegistry, options: { minIntervalMs: number; random?: () => number }) {
    this.#registry = registry;
    this.#minIntervalMs = options.minIntervalMs;
    this.#random = options.random ?? Math.random;
  }

  start(ns: string, def: CheckDefinition): void {
    this.stop(ns, def.CheckID);
    const key = `${ns}/${def.CheckID}`;
    const state: Running = { timer: undefined, successes: 0, failures: 0, stopped: false };
    this.#running.set(key, state);
    if (def.TTL !== undefined) {
      this.#armTtl(ns, def, state);
      return;
    }
    if (def.HTTP === undefined && def.TCP === undefined && def.GRPC === undefined) return;
    // Consul raises intervals below its minimum (1s) to the minimum.
    const interval = Math.max(tryParseDuration(def.Interval) ?? 10_000, this.#minIntervalMs);
    const timeout = Math.min(tryParseDuration(def.Timeout) || 10_000, interval);
    const run = async () => {
      const result = await probe(def, timeout);
      if (state.stopped) return;
      this.#report(ns, def, state, result);
      state.timer = setTimeout(run, interval);
    };
    state.timer = setTimeout(run, Math.floor(this.#random() * interval));
  }

  /** A TTL check was fed: restart its clock. False when it is not a running TTL check. */
  heartbeat(ns: string, checkId: string): boolean {
    const state = this.#running.get(`${ns}/${checkId}`);
    const def = this.#registry.check(ns, checkId)?.def;
    if (!state || def?.TTL === undefined) return false;
    this.#armTtl(ns, def, state);
    return true;
  }

  stop(ns: string, checkId: string): void {
    const key = `${ns}/${checkId}`;
    const state = this.#running.get(key);
    if (!state) return;
    state.stopped = true;
    clearTimeout(state.timer);
    this.#running.delete(key);
  }

  close(): void {
    for (const state of this.#running.values()) {
      state.stopped = true;
      clearTimeout(state.timer);
    }
    this.#running.clear();
  }

  #armTtl(ns: string, def: CheckDefinition, state: Running): void {
    clearTimeout(state.timer);
    const ttl = tryParseDuration(def.TTL) ?? 0;
    state.timer = setTimeout(() => {
      if (!state.stopped) this.#registry.updateCheck(ns, def.CheckID, 'critical', 'TTL expired');
    }, ttl);
  }

  #report(ns: string, def: CheckDefinition, state: Running, result: ProbeResult): void {
    let status: CheckStatus | undefined;
    if (result.status === 'critical') {
      state.successes = 0;
      state.failures++;
      if (state.failures >= def.FailuresBeforeCritical) status = 'critical';
    } else {
      state.failures = 0;
      state.successes++;
      if (state.successes >= def.SuccessBeforePassing) status = result.status;
    }
    const current = this.#registry.check(ns, def.CheckID);
    if (!current) return;
    // Below the threshold the status stays, but the output is always the latest (as Consul's).
    this.#registry.updateCheck(ns, def.CheckID, status ?? current.status, result.output);
  }
}

function probe(def: CheckDefinition, timeoutMs: number): Promise<ProbeResult> {
  if (def.HTTP !== undefined) return probeHttp(def, timeoutMs);
  if (def.TCP !== undefined) return probeTcp(def, timeoutMs);
  return probeGrpc(def, timeoutMs);
}
