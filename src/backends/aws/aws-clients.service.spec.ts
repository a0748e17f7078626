import { describe, expect, it } from 'vitest';
import { refreshTime, stsClientOptions } from './aws-clients.service.js';

describe('refreshTime of assumed-role credentials', () => {
  const obtainedAt = Date.parse('2026-01-01T00:00:00Z');

  it('renews an hour-long session five minutes before it expires', () => {
    const expiration = new Date(obtainedAt + 3600_000);
    expect(refreshTime(expiration, obtainedAt)).toBe(expiration.getTime() - 300_000);
  });

  it('renews a short session with a quarter of its lifetime left', () => {
    const expiration = new Date(obtainedAt + 4_000);
    expect(refreshTime(expiration, obtainedAt)).toBe(obtainedAt + 3_000);
  });

  it('keeps credentials without an expiry', () => {
    expect(refreshTime(undefined, obtainedAt)).toBe(Infinity);
  });
});

describe('stsClientOptions: where AssumeRole goes', () => {
  it.each([
    ['regional (the default)', { stsEndpointType: 'regional' }, { useGlobalEndpoint: false }],
    ['legacy: the global endpoint', { stsEndpointType: 'legacy' }, { useGlobalEndpoint: true }],
    [
      'an explicit endpoint wins over legacy',
      { stsEndpointType: 'legacy', stsEndpoint: 'http://127.0.0.1:4566' },
      { endpoint: 'http://127.0.0.1:4566' },
    ],
    [
      "the SDK's AWS_ENDPOINT_URL(_STS) wins over legacy too",
      { stsEndpointType: 'legacy', sdkStsEndpoint: 'https://vpce.example' },
      { endpoint: 'https://vpce.example' },
    ],
    [
      'AWS_STS_ENDPOINT wins over the SDK variables',
      { stsEndpointType: 'regional', stsEndpoint: 'http://a:1', sdkStsEndpoint: 'http://b:2' },
      { endpoint: 'http://a:1' },
    ],
  ] as const)('%s', (_case, aws, expected) => {
    const options = stsClientOptions(aws, 'eu-west-1', undefined, undefined);
    expect(options).toMatchObject({ region: 'eu-west-1', ...expected });
    if ('endpoint' in expected) expect(options).not.toHaveProperty('useGlobalEndpoint');
  });
});
