import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/backends/aws/aws-clients.service.js';
import { OutboundHttp } from '../../src/backends/outbound-agents.service.js';
import { loadConfig } from '../../src/config/controller-config.js';
import type { ControllerMetrics } from '../../src/metrics/controller-metrics.service.js';
import { CountingAwsProxy } from '../support/aws.js';
import { ForwardProxy } from '../support/forward-proxy.js';

const metrics = { recordBackendCall: () => undefined } as unknown as ControllerMetrics;
const ROLE = 'arn:aws:iam::123456789012:role/sts-endpoint';

/**
 * Where the controller's AssumeRole goes, seen on the wire: the AWS clients of the controller, built from a
 * configuration as at boot, send through a real forward proxy on loopback, which records the host every
 * CONNECT tunnel asks for and refuses those outside loopback (nothing leaves the machine).
 */
describe('AWS_STS_ENDPOINT_TYPE and the STS endpoint override', () => {
  const forward = new ForwardProxy();
  const counting = new CountingAwsProxy();
  let countingUrl: string;
  const saved = { AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL };

  beforeAll(async () => {
    // The stack's environment points every SDK client at moto; these tests need the SDK's own endpoints.
    delete process.env.AWS_ENDPOINT_URL;
    await forward.start();
    countingUrl = await counting.start();
  });

  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL = saved.AWS_ENDPOINT_URL;
    await forward.stop();
    await counting.stop();
  });

  /** Reads one secret as ROLE in `region` with the given environment; the error, if any. */
  async function readAsRole(env: NodeJS.ProcessEnv, region = 'eu-west-1'): Promise<string | undefined> {
    forward.reset();
    counting.reset();
    const config = loadConfig({ AWS_SM_ENDPOINT: process.env.MOTO_ENDPOINT, ...env });
    const clients = new AwsClients(config, metrics, new OutboundHttp(config));
    const identity = clients.identityFor('secretsManager', { roleArn: ROLE, region } as never);
    try {
      const client = await clients.secretsManager(identity);
      await client.send(new GetSecretValueCommand({ SecretId: 'sts-endpoint/none' }));
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  it.each([
    ['regional by default (KES)', {}, 'eu-west-1', 'sts.eu-west-1.amazonaws.com:443'],
    [
      'regional',
      { AWS_STS_ENDPOINT_TYPE: 'regional' },
      'ap-southeast-2',
      'sts.ap-southeast-2.amazonaws.com:443',
    ],
    [
      'legacy: the global endpoint',
      { AWS_STS_ENDPOINT_TYPE: 'legacy' },
      'eu-west-1',
      'sts.amazonaws.com:443',
    ],
  ])('%s %o: AssumeRole in %s asks for a tunnel to %s', async (_case, env, region, expected) => {
    const error = await readAsRole({ ...env, HTTPS_PROXY: forward.url }, region);
    expect(error).toMatch(/tunnel/);
    expect([...forward.targets()]).toEqual([expected]);
  });

  it.each([
    ['AWS_STS_ENDPOINT', (url: string) => ({ AWS_STS_ENDPOINT: url })],
    ['LOCALSTACK_STS_URL', (url: string) => ({ LOCALSTACK: '1', LOCALSTACK_STS_URL: url })],
  ])(
    'an explicit endpoint (%s) wins over legacy: the call reaches it, signed for the region',
    async (_case, env) => {
      await readAsRole({ AWS_STS_ENDPOINT_TYPE: 'legacy', ...env(countingUrl) });
      expect(counting.count('AssumeRole', 'eu-west-1')).toBe(1);
      expect(counting.count('AssumeRole')).toBe(1);
      expect(forward.requests).toEqual([]);
    },
  );

  it("the SDK's AWS_ENDPOINT_URL_STS wins over legacy too, and the call is signed for the region", async () => {
    // The SDK reads the variable from the process environment; the controller's configuration sees it too.
    process.env.AWS_ENDPOINT_URL_STS = countingUrl;
    try {
      await readAsRole({ AWS_STS_ENDPOINT_TYPE: 'legacy', AWS_ENDPOINT_URL_STS: countingUrl });
    } finally {
      delete process.env.AWS_ENDPOINT_URL_STS;
    }
    expect(counting.count('AssumeRole', 'eu-west-1')).toBe(1);
    expect(counting.count('AssumeRole')).toBe(1);
  });

  it('HTTP_PROXY alone carries https:// AWS calls (KES), and NO_PROXY sends a host direct', async () => {
    await readAsRole({ HTTP_PROXY: forward.url });
    expect([...forward.targets()]).toEqual(['sts.eu-west-1.amazonaws.com:443']);

    // An http:// endpoint goes through HTTP_PROXY as a forwarded request …
    await readAsRole({ HTTP_PROXY: forward.url, AWS_STS_ENDPOINT: countingUrl });
    expect(forward.requests.map((r) => r.target)).toContain(new URL(countingUrl).host);
    expect(counting.count('AssumeRole')).toBe(1);
    // … unless NO_PROXY names it.
    await readAsRole({ HTTP_PROXY: forward.url, AWS_STS_ENDPOINT: countingUrl, NO_PROXY: '127.0.0.1' });
    expect(forward.requests).toEqual([]);
    expect(counting.count('AssumeRole')).toBe(1);
  });
});
