// The part of autocannon's programmatic API these tests use (it ships no types of its own).
declare module 'autocannon' {
  interface Options {
    url: string;
    connections?: number;
    /** Requests to make in all; the run ends when they are done. */
    amount?: number;
    /** Seconds to wait for a response. */
    timeout?: number;
  }
  interface Result {
    errors: number;
    timeouts: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
