import { createRedactor } from '@disco/core/provider';
import { describe, expect, it } from 'vitest';
import { apiError, KubeRequestError } from '../src/errors.js';

const token = 'sha256~Zq8vT3kLm9Rx2WbN7cYp4HdF6gJs';
const context = { redact: createRedactor([token]), credential: 'KUBECONFIG' };
const pieces = Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));

describe('one classification of API failures', () => {
  it('401 and 403 are ERR_CONFIG naming the credential variable, not retryable', () => {
    for (const code of [401, 403]) {
      const error = apiError(new KubeRequestError(code, 'nope'), 'listing EndpointSlices', context);
      expect(error).toMatchObject({ code: 'ERR_CONFIG', variable: 'KUBECONFIG', retryable: false });
    }
    expect(apiError(new KubeRequestError(403, 'nope'), 'x', { ...context, credential: 'K8S_IN_CLUSTER' })).toMatchObject({ variable: 'K8S_IN_CLUSTER' });
  });

  it('400 is ERR_CONFIG; 5xx, 429 and network failures are retryable ERR_PROVIDER_UNAVAILABLE; a timeout is ERR_TIMEOUT', () => {
    expect(apiError(new KubeRequestError(400, 'unable to parse requirement'), 'x', context)).toMatchObject({ code: 'ERR_CONFIG', retryable: false });
    for (const code of [500, 503, 429]) expect(apiError(new KubeRequestError(code, 'busy'), 'x', context)).toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE', retryable: true });
    expect(apiError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }), 'x', context)).toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE', retryable: true });
    expect(apiError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'watching', { ...context, timeoutMs: 31_000 })).toMatchObject({ code: 'ERR_TIMEOUT', message: 'watching did not finish within 31000 ms' });
  });

  it('redacts a credential before cutting a long message short: no piece of 8 characters survives', () => {
    for (let at = 280; at <= 305; at++) {
      const message = `${'x'.repeat(at)}${token}${'y'.repeat(100)}`;
      const error = apiError(new KubeRequestError(500, message), 'listing', context);
      for (const piece of pieces) expect(error.message).not.toContain(piece);
    }
  });
});
