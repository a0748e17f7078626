import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingAwsProxy, putParameter, putSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventually,
  kubeClients,
  readSecretData,
} from '../support/kube.js';

const POLL_MS = 1500;

describe('AWS access: per-service endpoints and an intermediate role', () => {
  const clients = kubeClients();
  const proxy = new CountingAwsProxy();
  let controller: ControllerProcess;
  let namespace: string;

  beforeAll(async () => {
    namespace = await createTestNamespace('access');
    await putSecret('access/password', 'via-role');
    await putParameter('/access/password', 'via-role-too');
    const endpoint = await proxy.start();
    controller = await ControllerProcess.start({
      AWS_ENDPOINT_URL: undefined,
      AWS_SM_ENDPOINT: endpoint,
      AWS_SSM_ENDPOINT: endpoint,
      AWS_STS_ENDPOINT: endpoint,
      AWS_INTERMEDIATE_ROLE_ARN: 'arn:aws:iam::123456789012:role/intermediate',
      POLLER_INTERVAL_MILLISECONDS: String(POLL_MS),
      WATCHED_NAMESPACES: namespace,
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
    await proxy.stop();
  });

  it('assumes the role through the intermediate role once, shared by both services, across cycles', async () => {
    const roleArn = 'arn:aws:iam::123456789012:role/final';
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'sm' },
      spec: { backendType: 'secretsManager', roleArn, data: [{ key: 'access/password', name: 'v' }] },
    });
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'ssm' },
      spec: { backendType: 'systemManager', roleArn, data: [{ key: '/access/password', name: 'v' }] },
    });
    const value = (name: string) =>
      eventually(`Secret ${name}`, async () => (await readSecretData(clients, namespace, name))?.data.v);
    expect(await value('sm')).toBe('via-role');
    expect(await value('ssm')).toBe('via-role-too');
    await new Promise((resolve) => setTimeout(resolve, 3 * POLL_MS));
    // Every call went to the per-service endpoints; STS twice: the intermediate role, then the final role.
    expect(proxy.count('AssumeRole')).toBe(2);
    expect(proxy.count('BatchGetSecretValue')).toBeGreaterThanOrEqual(3);
    expect(proxy.count('GetParameters')).toBeGreaterThanOrEqual(3);
  });
});
