import { describe, expect, it } from 'vitest';
import { parseLabelSelector } from '../src/index.js';

describe('parseLabelSelector', () => {
  const labels = { app: 'web', tier: 'front', 'kubernetes.io/service-name': 'web' };
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app=api', false],
    ['kubernetes.io/service-name=web', true],
    ['app in (api, web)', true],
    ['app notin (api,web)', false],
    ['tier', true],
    ['!tier', false],
    ['missing', false],
    ['!missing', true],
    ['missing!=x', true],
    ['app=web,tier in (front),!missing', true],
    ['app=web,tier=back', false],
  ])('%j matches: %s', (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it('rejects malformed selectors', () => {
    expect(() => parseLabelSelector('app in web')).toThrow(/unable to parse/);
    expect(() => parseLabelSelector('a=b=c')).toThrow(/unable to parse/);
  });
});
