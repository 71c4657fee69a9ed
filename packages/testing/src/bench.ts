/**
 * A small benchmark harness for `pnpm bench`: ops/s of a function, measured in rounds after
 * a warm-up, reported as the median round, and printed as a ratio against a baseline
 * measured in the same run (absolute numbers vary by machine; ratios travel).
 */
export interface BenchResult {
  name: string;
  opsPerSec: number;
}

/** Runs `fn(iterations)` (a loop of `iterations` operations) for ~`ms` per round; median ops/s over `rounds`. */
export function measure(name: string, fn: (iterations: number) => unknown, { rounds = 7, ms = 150 } = {}): BenchResult {
  let iterations = 1_000;
  // Warm up and size the batch so that one batch takes ~10 ms.
  for (let elapsed = 0; elapsed < 10; iterations *= 2) {
    const start = performance.now();
    fn(iterations);
    elapsed = performance.now() - start;
  }
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      fn(iterations);
      ops += iterations;
    }
    results.push(ops / ((performance.now() - start) / 1000));
  }
  results.sort((a, b) => a - b);
  return { name, opsPerSec: results[Math.floor(results.length / 2)]! };
}

/** Measures an async operation: ops/s of awaiting `fn()` sequentially. */
export async function measureAsync(name: string, fn: () => Promise<unknown>, { rounds = 5, ms = 150 } = {}): Promise<BenchResult> {
  for (let i = 0; i < 1000; i++) await fn();
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      await fn();
      ops++;
    }
    results.push(ops / ((performance.now() - start) / 1000));
  }
  results.sort((a, b) => a - b);
  return { name, opsPerSec: results[Math.floor(results.length / 2)]! };
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

/** Prints results as a table with each one's cost relative to the baseline (time per op ÷ baseline's). */
export function printComparison(title: string, baseline: BenchResult, results: readonly BenchResult[]): void {
  console.log(`\n${title}`);
  const width = Math.max(...[baseline, ...results].map((r) => r.name.length));
  for (const r of [baseline, ...results]) {
    const cost = baseline.opsPerSec / r.opsPerSec;
    console.log(`  ${r.name.padEnd(width)}  ${fmt(r.opsPerSec).padStart(7)} ops/s  ${r === baseline ? 'baseline' : `${cost.toFixed(2)}× the baseline's time per op`}`);
  }
}
