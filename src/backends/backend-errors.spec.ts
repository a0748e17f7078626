import { describe, expect, it } from 'vitest';
import { BackendError, sanitizeErrorText, toBackendError } from './backend-errors.js';

describe('sanitizeErrorText', () => {
  it.each([
    ['The security token ASIAXXXXXXXXXXXXXXXX is invalid', 'The security token [access-key-id] is invalid'],
    ['failed (RequestId: 7f3c2a10-1b2c-4d5e-8f90-123456789abc)', 'failed ([request-id])'],
    ['token s.Jhu1TO8dZnC0hpS8wVbRBjQ4abcd expired', 'token [token] expired'],
    ['jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl rejected', 'jwt [jwt] rejected'],
    [
      'GET /?X-Amz-Security-Token=abc&Signature=def',
      'GET /?X-Amz-Security-Token=[redacted]&Signature=[redacted]',
    ],
  ])('%s', (text, expected) => {
    expect(sanitizeErrorText(text)).toBe(expected);
  });

  it('bounds the length', () => {
    expect(sanitizeErrorText('x'.repeat(1000))).toHaveLength(301);
  });
});

describe('toBackendError', () => {
  it('marks throttling, 5xx and network errors transient, and others not', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    expect(toBackendError(throttled, 'GetParameters')).toEqual(
      new BackendError('GetParameters failed: ThrottlingException: Rate exceeded', true),
    );
    expect(toBackendError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'x').transient).toBe(
      true,
    );
    expect(
      toBackendError(Object.assign(new Error('boom'), { $metadata: { httpStatusCode: 503 } }), 'x').transient,
    ).toBe(true);
    expect(
      toBackendError(Object.assign(new Error('no'), { name: 'AccessDeniedException' }), 'x').transient,
    ).toBe(false);
    // node-vault's ApiResponseError carries the status on its response.
    const sealed = Object.assign(new Error('Vault is sealed'), {
      name: 'ApiResponseError',
      response: { statusCode: 503 },
    });
    expect(toBackendError(sealed, 'reading x from Vault')).toEqual(
      new BackendError('reading x from Vault failed: ApiResponseError: Vault is sealed (HTTP 503)', true),
    );
  });
});
