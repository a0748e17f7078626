import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../backends/backend-errors.js';
import { RemoteKeyNotFoundError } from '../domain/remote-value.js';
import { KubeApiError } from '../kubernetes/api-errors.js';
import { InvalidSpecError } from '../domain/normalize-spec.js';
import { ValueError } from '../domain/secret-data.js';
import { SecretTooLargeError } from '../domain/secret-manifest.js';
import { classifyFailure, SyncFailure } from './sync-failure.js';
import { TemplateError } from '../domain/template.js';

const refused = (code: number) =>
  new KubeApiError('apply secrets a/b', new ApiException(code, 'x', JSON.stringify({ message: 'no' }), {}));

describe('classifyFailure', () => {
  it.each([
    { name: 'an invalid spec', error: new InvalidSpecError('bad'), reason: 'InvalidSpec', retry: false },
    {
      name: 'a missing remote key',
      error: new RemoteKeyNotFoundError('k'),
      reason: 'SyncFailed',
      retry: false,
    },
    { name: 'a bad value', error: new ValueError('not JSON'), reason: 'SyncFailed', retry: false },
    { name: 'a template error', error: new TemplateError('tag'), reason: 'SyncFailed', retry: false },
    {
      name: 'a Secret over 1 MiB',
      error: new SecretTooLargeError('big'),
      reason: 'SyncFailed',
      retry: false,
    },
    {
      name: 'a transient backend error',
      error: new BackendError('throttled', true),
      reason: 'SyncFailed',
      retry: true,
    },
    {
      name: 'a permanent backend error',
      error: new BackendError('denied', false),
      reason: 'SyncFailed',
      retry: false,
    },
    { name: 'an API refusal 422 Invalid', error: refused(422), reason: 'SyncFailed', retry: false },
    { name: 'an API conflict 409', error: refused(409), reason: 'SyncFailed', retry: true },
    { name: 'an API outage 503', error: refused(503), reason: 'SyncFailed', retry: true },
    {
      name: 'an already classified failure',
      error: new SyncFailure('AccessDenied', 'no', false),
      reason: 'AccessDenied',
      retry: false,
    },
    { name: 'anything else', error: new Error('boom'), reason: 'SyncFailed', retry: true },
    { name: 'a thrown string', error: 'odd', reason: 'SyncFailed', retry: true },
  ])('$name: $reason, retry $retry', ({ error, reason, retry }) => {
    const failure = classifyFailure(error);
    expect(failure.reason).toBe(reason);
    expect(failure.retry).toBe(retry);
  });

  it('sanitises the text of unknown errors', () => {
    expect(classifyFailure(new Error('key AKIAABCDEFGHIJKLMNOP leaked')).message).toBe(
      'key [access-key-id] leaked',
    );
  });
});
