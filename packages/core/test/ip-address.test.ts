import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isIpAddress } from '../src/validate.js';

// Core checks addresses without node:net (its import time); the answers must be node's.
describe('isIpAddress agrees with node:net isIP', () => {
  it.each(['1.2.3.4', '256.1.1.1', '01.2.3.4', '::1', 'fe80::1%eth0', 'fe80::1%', '::ffff:1.2.3.4', '1::2::3', '[::1]', '1:2:3:4:5:6:7:8:9', 'example.com', '', '2001:db8::/32'])('%s', (text) => {
    expect(isIpAddress(text)).toBe(isIP(text) !== 0);
  });

  it('on generated addresses and near misses (2,000 runs, fixed seed)', () => {
    const pieces = fc.constantFrom(':', '::', '.', '%', 'eth0', '1', 'ff', 'ffff', '0', '255', '256', '01', 'g', '[', ']', '/');
    const text = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.array(pieces, { maxLength: 12 }).map((p) => p.join('')), fc.string());
    fc.assert(fc.property(text, (t) => isIpAddress(t) === (isIP(t) !== 0)), { seed: 1401, numRuns: 2_000 });
  });
});
