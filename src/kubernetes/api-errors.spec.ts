import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isNamespaceTerminating, KubeApiError, statusCodeOf } from './api-errors.js';

const refusal = (code: number, status: object | string) =>
  new ApiException(
    code,
    `HTTP-Code: ${code}\nMessage: Unknown API Status Code!\nBody: ${JSON.stringify(status)}\nHeaders: {}`,
    typeof status === 'string' ? status : JSON.stringify(status),
    {},
  );

describe('KubeApiError', () => {
  it.each([
    {
      name: 'a refusal with a Status: operation, code, reason, message',
      operation: 'create events in acc-x',
      cause: refusal(403, {
        kind: 'Status',
        reason: 'Forbidden',
        message:
          'events "a.1" is forbidden: unable to create new content in namespace acc-x because it is being terminated',
      }),
      expected:
        'create events in acc-x: 403 Forbidden: events "a.1" is forbidden: unable to create new content in namespace acc-x because it is being terminated',
      code: 403,
      terminating: true,
    },
    {
      name: 'an immutable field',
      operation: 'apply secrets ns/a',
      cause: refusal(422, {
        kind: 'Status',
        reason: 'Invalid',
        message: 'Secret "a" is invalid: type: Invalid value: "kubernetes.io/tls": field is immutable',
      }),
      expected:
        'apply secrets ns/a: 422 Invalid: Secret "a" is invalid: type: Invalid value: "kubernetes.io/tls": field is immutable',
      code: 422,
      terminating: false,
    },
    {
      name: 'a body that is no Status: the HTTP reason phrase',
      operation: 'get secrets ns/a',
      cause: refusal(503, '<html>\n<body>unavailable</body>\n</html>'),
      expected: 'get secrets ns/a: 503 Service Unavailable',
      code: 503,
      terminating: false,
    },
    {
      name: 'no answer at all',
      operation: 'list secrets',
      cause: new Error(
        'request to https://127.0.0.1:16443/api/v1/secrets failed,\n reason: connect ECONNREFUSED',
      ),
      expected:
        'list secrets: request to https://127.0.0.1:16443/api/v1/secrets failed, reason: connect ECONNREFUSED',
      code: undefined,
      terminating: false,
    },
  ])('$name', ({ operation, cause, expected, code, terminating }) => {
    const error = new KubeApiError(operation, cause);
    expect(error.message).toBe(expected);
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain('HTTP-Code');
    expect(statusCodeOf(error)).toBe(code);
    expect(isNamespaceTerminating(error)).toBe(terminating);
  });

  it('bounds a long message', () => {
    const error = new KubeApiError('x', refusal(400, { reason: 'BadRequest', message: 'y'.repeat(2000) }));
    expect(error.message.length).toBeLessThanOrEqual(501);
  });
});
