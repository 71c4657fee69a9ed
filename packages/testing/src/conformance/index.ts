// @disco/testing/conformance — the provider conformance suite (needs vitest); the doubles and
// launchers in `@disco/testing` do not.
export { describeProvider, type ConformanceBackend, type ConformanceOptions, type RoundTripField } from './describe-provider.js';
