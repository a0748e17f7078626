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

  it('renews assumed-role credentials before they expire mid-cycle: no call signed with expired keys, no failed sync', async () => {
    const shortProxy = new CountingAwsProxy();
    const endpoint = await shortProxy.start();
    const shortLived = await ControllerProcess.start({
      AWS_ENDPOINT_URL: endpoint,
      // moto honours any DurationSeconds: credentials that expire every 4 s, refreshed at every 1 s cycle.
      AWS_ASSUME_ROLE_DURATION_SECONDS: '4',
      POLLER_INTERVAL_MILLISECONDS: '1000',
      WATCHED_NAMESPACES: namespace,
      INSTANCE_ID: 'short-lived',
    });
    try {
      await shortLived.waitHealthy('/readyz');
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'short-lived' },
        spec: {
          backendType: 'secretsManager',
          controllerId: 'short-lived',
          roleArn: 'arn:aws:iam::123456789012:role/short-lived',
          data: [{ key: 'access/password', name: 'v' }],
        },
      });
      await eventually(
        'the first sync',
        async () => (await readSecretData(clients, namespace, 'short-lived'))?.data.v,
      );
      await new Promise((resolve) => setTimeout(resolve, 13_000));

      const reads = shortProxy.signedCalls.filter((call) => call.operation === 'BatchGetSecretValue');
      expect(reads.length).toBeGreaterThanOrEqual(10);
      // Several generations of credentials were used, each only while it was valid.
      const used = new Set(reads.map((call) => call.accessKeyId));
      expect(used.size).toBeGreaterThanOrEqual(3);
      for (const call of reads) {
        const expiresAt = shortProxy.issuedCredentials.get(call.accessKeyId);
        expect(expiresAt, `access key ${call.accessKeyId} came from AssumeRole`).toBeDefined();
        expect(call.at).toBeLessThan(expiresAt!);
      }
      const metrics = await (await fetch(shortLived.url('/metrics'))).text();
      expect(metrics).not.toMatch(
        /^kubernetes_external_secrets_sync_calls_count\{[^}]*status="error"[^}]*\} [1-9]/m,
      );
      expect(metrics).toMatch(
        /^kubernetes_external_secrets_sync_calls_count\{[^}]*name="short-lived"[^}]*status="success"[^}]*\} \d+/m,
      );
    } finally {
      await shortLived.stop();
      await shortProxy.stop();
    }
  });
});
