import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerProcess } from '../support/controller-process.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventsOf,
  eventually,
  kubeClients,
  readExternalSecret,
  readSecretData,
  readYamlDocuments,
  waitForStatus,
  type ExternalSecretObject,
} from '../support/kube.js';
import {
  auditedForRole,
  auditedRequests,
  startOpenBao,
  stopOpenBao,
  writeKv1,
  writeKv2,
} from '../support/vault.js';

const POLL_MS = 1500;

/** A controller that logs in to the stack's OpenBao at auth/kubernetes with the test ServiceAccount's token. */
const startVaultController = (settings: NodeJS.ProcessEnv) =>
  ControllerProcess.start({
    VAULT_ADDR: process.env.VAULT_ADDR,
    SERVICE_ACCOUNT_TOKEN_PATH: process.env.ES_VAULT_TOKEN_PATH,
    DEFAULT_VAULT_MOUNT_POINT: 'kubernetes',
    ...settings,
  });
const ROLE = 'iam.amazonaws.com/permitted';
const seed = readYamlDocuments<ExternalSecretObject>(
  new URL('../fixtures/seed-examples.yaml', import.meta.url),
);

describe('syncing from Vault (OpenBao) through Kubernetes auth against the real API server', () => {
  const clients = kubeClients();
  let controller: ControllerProcess;
  let namespace: string;
  const id = randomBytes(3).toString('hex');

  const seedVault = async () => {
    await writeKv2('hello-service/credentials', {
      password: '1234',
      'api-key': 'key-1',
      nested: { user: 'admin' },
    });
    await writeKv2(`${id}/shared`, { value: 'shared' });
    await writeKv2(`${id}/cert`, { pem: Buffer.from([1, 2, 3]).toString('base64') });
    await writeKv1(`${id}/legacy`, { user: 'v1-user', password: 'v1-pass' });
    await writeKv2(`${id}/forbidden`, { value: 'x' }, 'restricted');
  };
  const value = (name: string, key: string) =>
    eventually(`Secret ${name}`, async () => (await readSecretData(clients, namespace, name))?.data[key]);

  beforeAll(async () => {
    namespace = await createTestNamespace('vault');
    await seedVault();
    controller = await startVaultController({
      DEFAULT_VAULT_ROLE: 'es-controller',
      POLLER_INTERVAL_MILLISECONDS: String(POLL_MS),
      WATCHED_NAMESPACES: namespace,
      LOG_LEVEL: 'debug',
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
  });

  it('syncs the KES README Vault example verbatim', async () => {
    await createExternalSecret(
      clients,
      namespace,
      seed.find((each) => each.metadata.name === 'hello-vault-service')!,
    );
    expect(await value('hello-vault-service', 'password')).toBe('1234');
    expect((await readSecretData(clients, namespace, 'hello-vault-service'))!.data).toEqual({
      password: '1234',
      'api-key': 'key-1',
    });
  });

  it('reads KV v1 and v2 with property paths, dataFrom, isBinary and templates', async () => {
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'kv-shapes' },
      spec: {
        backendType: 'vault',
        data: [
          { key: 'secret/data/hello-service/credentials', name: 'user', property: 'nested.user' },
          { key: 'secret/data/hello-service/credentials', name: 'whole' },
          { key: `secret/data/${id}/cert`, name: 'cert', property: 'pem', isBinary: true },
        ],
        template: { stringData: { dsn: 'db://<%= data.user %>@host' } },
      },
    });
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'kv1-shapes' },
      spec: { backendType: 'vault', kvVersion: 1, dataFrom: [`kv1/${id}/legacy`] },
    });
    expect(await value('kv-shapes', 'user')).toBe('admin');
    const { data, secret } = (await readSecretData(clients, namespace, 'kv-shapes'))!;
    expect(JSON.parse(data.whole!)).toEqual({
      password: '1234',
      'api-key': 'key-1',
      nested: { user: 'admin' },
    });
    expect(data.dsn).toBe('db://admin@host');
    expect([...Buffer.from(secret.data!.cert!, 'base64')]).toEqual([1, 2, 3]);
    expect(await value('kv1-shapes', 'user')).toBe('v1-user');
    expect((await readSecretData(clients, namespace, 'kv1-shapes'))!.data).toEqual({
      user: 'v1-user',
      password: 'v1-pass',
    });
  });

  it('logs in once per (mount, role) and reads a shared path once per cycle', async () => {
    const loginsBefore = auditedRequests('auth/kubernetes/login');
    for (let index = 0; index < 4; index++) {
      await createExternalSecret(clients, namespace, {
        metadata: { name: `vault-sharer-${index}` },
        spec: {
          backendType: 'vault',
          data: [{ key: `secret/data/${id}/shared`, name: 'v', property: 'value' }],
        },
      });
    }
    for (let index = 0; index < 4; index++) expect(await value(`vault-sharer-${index}`, 'v')).toBe('shared');
    await new Promise((resolve) => setTimeout(resolve, 2 * POLL_MS));
    const readsBefore = auditedRequests(`secret/data/${id}/shared`);
    const cycles = 4;
    await new Promise((resolve) => setTimeout(resolve, cycles * POLL_MS));
    const reads = auditedRequests(`secret/data/${id}/shared`) - readsBefore;
    // Four objects, one path, one (mount, role): one read per cycle (a cycle boundary may add one).
    expect(reads).toBeGreaterThanOrEqual(cycles - 1);
    expect(reads).toBeLessThanOrEqual(cycles + 1);
    // The controller logged in to auth/kubernetes at most once (before these objects, if at all): the token is reused.
    expect(auditedRequests('auth/kubernetes/login') - loginsBefore).toBeLessThanOrEqual(1);
    expect(auditedRequests(/^auth\/token\/lookup-self$/)).toBe(0);
    expect(auditedRequests(/^auth\/token\/revoke/)).toBe(0);
  });

  it('reports every bad input clearly and keeps the last good Secret', async () => {
    const cases: Array<[string, object, string]> = [
      [
        'a role not bound to the ServiceAccount',
        { vaultRole: 'es-other-sa', data: [{ key: `secret/data/${id}/shared`, name: 'v' }] },
        'Vault login at auth/kubernetes as role es-other-sa denied',
      ],
      [
        'an unknown role',
        { vaultRole: 'no-such-role', data: [{ key: `secret/data/${id}/shared`, name: 'v' }] },
        'Vault login at auth/kubernetes as role no-such-role denied',
      ],
      [
        'a path the policy does not allow',
        { data: [{ key: `restricted/data/${id}/forbidden`, name: 'v' }] },
        `Vault denied reading restricted/data/${id}/forbidden (403 permission denied)`,
      ],
      [
        'a missing path',
        { data: [{ key: `secret/data/${id}/nope`, name: 'v' }] },
        `remote key secret/data/${id}/nope not found`,
      ],
      [
        'a missing property',
        { data: [{ key: `secret/data/${id}/shared`, name: 'v', property: 'nope' }] },
        `Could not find property nope in secret/data/${id}/shared`,
      ],
      [
        'a KV v1 path read as v2',
        { data: [{ key: `kv1/${id}/legacy`, name: 'v' }] },
        `kv1/${id}/legacy is not a KV v2 secret`,
      ],
      [
        'a KV v2 path read as v1',
        { kvVersion: 1, data: [{ key: `secret/data/${id}/shared`, name: 'v' }] },
        `secret/data/${id}/shared is a KV v2 secret; set kvVersion: 2`,
      ],
    ];
    for (const [index, [label, spec, message]] of cases.entries()) {
      const name = `bad-${index}`;
      await createExternalSecret(clients, namespace, {
        metadata: { name },
        spec: { backendType: 'vault', ...spec },
      });
      const failed = await waitForStatus(clients, namespace, name, 'ERROR');
      expect(failed.status?.status, label).toContain(message);
      expect(failed.status?.conditions?.[0]).toMatchObject({
        type: 'Ready',
        status: 'False',
        reason: 'SyncFailed',
      });
      await eventually(`${label}: event`, async () =>
        (await eventsOf(clients, namespace, name)).some((event) => event.includes(message))
          ? true
          : undefined,
      );
    }
  });

  it('checks vaultRole against the namespace role annotation', async () => {
    const policed = await createTestNamespace('vault-policed');
    const current = await clients.core.readNamespace({ name: policed });
    current.metadata!.annotations = { [ROLE]: 'reader' };
    await clients.core.replaceNamespace({ name: policed, body: current });
    // A second controller watching only this namespace.
    const second = await startVaultController({
      WATCHED_NAMESPACES: policed,
    });
    try {
      await second.waitHealthy('/readyz');
      await createExternalSecret(clients, policed, {
        metadata: { name: 'denied' },
        spec: {
          backendType: 'vault',
          vaultRole: 'es-controller',
          data: [{ key: `secret/data/${id}/shared`, name: 'v' }],
        },
      });
      const denied = await waitForStatus(clients, policed, 'denied', 'ERROR');
      expect(denied.status?.status).toBe(
        `ERROR, not allowed to fetch secret: ${policed}/denied: namespace does not allow to assume role es-controller (${ROLE}: reader)`,
      );
    } finally {
      await second.stop();
    }
  });

  it('logs in again by itself when short tokens expire, without a failed sync', async () => {
    const loginsBefore = auditedRequests('auth/kubernetes/login');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'short-ttl' },
      spec: {
        backendType: 'vault',
        vaultRole: 'es-short-ttl',
        data: [{ key: `secret/data/${id}/shared`, name: 'v', property: 'value' }],
      },
    });
    expect(await value('short-ttl', 'v')).toBe('shared');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const object = await readExternalSecret(clients, namespace, 'short-ttl');
    expect(object.status?.status).toBe('SUCCESS');
    expect(
      (await eventsOf(clients, namespace, 'short-ttl')).filter((event) => event.startsWith('Warning')),
    ).toEqual([]);
    // 4 s tokens over ~10 s: logged in again (more than once), never failing a sync.
    expect(auditedRequests('auth/kubernetes/login') - loginsBefore).toBeGreaterThanOrEqual(2);
  });

  it('renews a token under the threshold instead of logging in again', async () => {
    // The audit log outlives OpenBao restarts: count from here.
    const renewalsBefore = auditedForRole('auth/token/renew-self', 'es-renewable');
    const loginsBefore = auditedForRole('auth/kubernetes/login', 'es-renewable');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'renewed' },
      spec: {
        backendType: 'vault',
        vaultRole: 'es-renewable',
        data: [{ key: `secret/data/${id}/shared`, name: 'v', property: 'value' }],
      },
    });
    expect(await value('renewed', 'v')).toBe('shared');
    await new Promise((resolve) => setTimeout(resolve, 9000));
    // 6 s tokens, renewed whenever less than 4.5 s (three poll intervals) remain: renewals, one login.
    expect(auditedForRole('auth/token/renew-self', 'es-renewable') - renewalsBefore).toBeGreaterThanOrEqual(
      2,
    );
    expect(auditedForRole('auth/kubernetes/login', 'es-renewable') - loginsBefore).toBe(1);
    expect((await readExternalSecret(clients, namespace, 'renewed')).status?.status).toBe('SUCCESS');
  });

  it('neither renews nor logs in again while a token is young, even when the threshold is longer than it lives', async () => {
    // KES's default threshold is three poll intervals: at a 1 h interval 3 h, against a 10 min token. Here an
    // hour against 60 s tokens: without the cap at half the TTL every read would find the token due and renew it.
    const otherNamespace = await createTestNamespace('vault-threshold');
    const longThreshold = await startVaultController({
      POLLER_INTERVAL_MILLISECONDS: String(POLL_MS),
      VAULT_TOKEN_RENEW_THRESHOLD: '3600',
      WATCHED_NAMESPACES: otherNamespace,
    });
    try {
      await longThreshold.waitHealthy('/readyz');
      const loginsBefore = auditedForRole('auth/kubernetes/login', 'es-minute');
      const renewalsBefore = auditedForRole('auth/token/renew-self', 'es-minute');
      const readsBefore = auditedForRole(`secret/data/${id}/shared`, 'es-minute');
      await createExternalSecret(clients, otherNamespace, {
        metadata: { name: 'long-threshold' },
        spec: {
          backendType: 'vault',
          vaultRole: 'es-minute',
          data: [{ key: `secret/data/${id}/shared`, name: 'v', property: 'value' }],
        },
      });
      await eventually('Secret long-threshold', async () =>
        (await readSecretData(clients, otherNamespace, 'long-threshold'))?.data.v === 'shared'
          ? true
          : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 9000));
      // Several refresh reads on one token, not one of them a renewal (the token is due at 30 s).
      expect(auditedForRole(`secret/data/${id}/shared`, 'es-minute') - readsBefore).toBeGreaterThanOrEqual(4);
      expect(auditedForRole('auth/token/renew-self', 'es-minute') - renewalsBefore).toBe(0);
      expect(auditedForRole('auth/kubernetes/login', 'es-minute') - loginsBefore).toBe(1);
      expect((await readExternalSecret(clients, otherNamespace, 'long-threshold')).status?.status).toBe(
        'SUCCESS',
      );
    } finally {
      await longThreshold.stop();
    }
  });

  it('survives OpenBao going away and coming back re-bootstrapped', async () => {
    expect(await value('kv1-shapes', 'user')).toBe('v1-user');
    await stopOpenBao();
    try {
      const failed = await waitForStatus(clients, namespace, 'kv1-shapes', 'ERROR', 30_000);
      expect(failed.status?.status).toMatch(/unreachable|ECONNREFUSED/);
      expect((await readSecretData(clients, namespace, 'kv1-shapes'))!.data.user).toBe('v1-user');
    } finally {
      await startOpenBao();
      await seedVault();
    }
    // The old token died with the old server: the controller logs in again by itself.
    await waitForStatus(clients, namespace, 'kv1-shapes', 'SUCCESS', 30_000);
    await waitForStatus(clients, namespace, 'hello-vault-service', 'SUCCESS', 30_000);
  });

  it('never writes a Vault value or token into its logs', () => {
    expect(controller.text).not.toContain('key-1');
    expect(controller.text).not.toContain('v1-pass');
    expect(controller.text).not.toMatch(/\bs\.[A-Za-z0-9]{20,}/);
    expect(controller.text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    // The log level really was debug, so the check covers the chattiest output.
    expect(controller.text).toContain('"level":20');
  });
});
