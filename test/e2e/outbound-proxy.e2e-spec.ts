import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingAwsProxy, putSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import { ForwardProxy, TlsFront } from '../support/forward-proxy.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventually,
  kubeClients,
  readSecretData,
} from '../support/kube.js';
import { writeKv2 } from '../support/vault.js';

/**
 * HTTP_PROXY / HTTPS_PROXY: the controller (the built process) reaches AWS, STS and Vault only through a real
 * forward proxy on loopback, by CONNECT tunnels to their https:// endpoints; the API server never through it.
 */
describe('outbound proxy', () => {
  const clients = kubeClients();
  const forward = new ForwardProxy();
  const aws = new CountingAwsProxy();
  let awsFront: TlsFront;
  let vaultFront: TlsFront;
  let controller: ControllerProcess;
  let namespace: string;

  beforeAll(async () => {
    namespace = await createTestNamespace('proxy');
    await putSecret('proxy/password', 'through-the-tunnel');
    await writeKv2('proxy/creds', { user: 'tunnelled' });
    await forward.start();
    awsFront = new TlsFront(await aws.start());
    vaultFront = new TlsFront(process.env.VAULT_ADDR!);
    const awsEndpoint = await awsFront.start();
    const vaultAddress = await vaultFront.start();
    controller = await ControllerProcess.start({
      AWS_ENDPOINT_URL: undefined,
      AWS_SM_ENDPOINT: awsEndpoint,
      AWS_SSM_ENDPOINT: awsEndpoint,
      AWS_STS_ENDPOINT: awsEndpoint,
      VAULT_ADDR: vaultAddress,
      NODE_EXTRA_CA_CERTS: join(process.env.STACK_PKI!, 'ca.crt'),
      SERVICE_ACCOUNT_TOKEN_PATH: process.env.ES_VAULT_TOKEN_PATH,
      DEFAULT_VAULT_MOUNT_POINT: 'kubernetes',
      DEFAULT_VAULT_ROLE: 'es-controller',
      // As KES documented it: HTTP_PROXY alone, also for https:// endpoints. No NO_PROXY: the API server is
      // on loopback too, and is still not proxied.
      HTTP_PROXY: forward.url,
      HTTPS_PROXY: undefined,
      NO_PROXY: undefined,
      http_proxy: undefined,
      https_proxy: undefined,
      no_proxy: undefined,
      WATCHED_NAMESPACES: namespace,
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
    await Promise.all([forward.stop(), aws.stop(), awsFront?.stop(), vaultFront?.stop()]);
  });

  it('sends AWS, STS and Vault through CONNECT tunnels, every connection, and the API server direct', async () => {
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'aws' },
      spec: {
        backendType: 'secretsManager',
        roleArn: 'arn:aws:iam::123456789012:role/proxied',
        data: [{ key: 'proxy/password', name: 'password' }],
      },
    });
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'vault' },
      spec: {
        backendType: 'vault',
        data: [{ key: 'secret/data/proxy/creds', name: 'user', property: 'user' }],
      },
    });
    const value = (name: string, key: string) =>
      eventually(`Secret ${name}`, async () => (await readSecretData(clients, namespace, name))?.data[key]);
    expect(await value('aws', 'password')).toBe('through-the-tunnel');
    expect(await value('vault', 'user')).toBe('tunnelled');

    expect(aws.count('AssumeRole')).toBe(1);
    expect(aws.count('BatchGetSecretValue') + aws.count('GetSecretValue')).toBeGreaterThanOrEqual(1);
    // Every TLS connection the fronts accepted came through a tunnel of the proxy: none went direct.
    expect(forward.tunnels(awsFront.hostPort)).toBeGreaterThanOrEqual(1);
    expect(forward.tunnels(vaultFront.hostPort)).toBeGreaterThanOrEqual(1);
    expect(awsFront.connections).toBe(forward.tunnels(awsFront.hostPort));
    expect(vaultFront.connections).toBe(forward.tunnels(vaultFront.hostPort));
    // Nothing else reached the proxy: not the API server (127.0.0.1:<KAS_PORT>), which the controller kept
    // using directly (it is ready and wrote both Secrets).
    expect(forward.targets()).toEqual(new Set([awsFront.hostPort, vaultFront.hostPort]));
    expect(forward.requests.every((request) => request.method === 'CONNECT')).toBe(true);
  });
});
