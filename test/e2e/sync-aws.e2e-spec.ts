import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingAwsProxy, putParameter, putSecret, updateSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import { CONTROLLER_USER_AGENT } from '../../src/kubernetes/pooled-kube-config.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventsOf,
  eventually,
  kubeClients,
  readExternalSecret,
  readSecretData,
  readYamlDocuments,
  replaceExternalSecretSpec,
  apiAuditMark,
  apiRequestsSince,
  waitForStatus,
  type ExternalSecretObject,
} from '../support/kube.js';

const POLL_MS = 2000;
const ROLE = 'iam.amazonaws.com/permitted';
const NAMING = 'externalsecrets.kubernetes-client.io/permitted-key-name';
const seed = readYamlDocuments<ExternalSecretObject>(
  new URL('../fixtures/seed-examples.yaml', import.meta.url),
);
const deprecated = readYamlDocuments<ExternalSecretObject>(
  new URL('../fixtures/deprecated-forms.yaml', import.meta.url),
);
const fixture = (name: string) =>
  [...seed, ...deprecated].find((manifest) => manifest.metadata.name === name)!;

describe('syncing from AWS Secrets Manager and Parameter Store (moto)', () => {
  const clients = kubeClients();
  const proxy = new CountingAwsProxy();
  let controller: ControllerProcess;
  let namespace: string;
  let policed: string;
  let previousPassword: string;

  /** Waits until the Secret exists with the expected data. */
  const secretData = (name: string, ns = namespace) =>
    eventually(`Secret ${ns}/${name}`, async () => (await readSecretData(clients, ns, name))?.data);

  beforeAll(async () => {
    namespace = await createTestNamespace('aws');
    policed = await createTestNamespace('policed');
    await clients.core
      .patchNamespace(
        {
          name: policed,
          body: {
            metadata: {
              annotations: { [ROLE]: 'arn:aws:iam::123456789012:role/team-a', [NAMING]: 'team-a/.*' },
            },
          },
        },
        { middleware: [], middlewareMergeStrategy: 'append' } as never,
      )
      .catch(async () => {
        // client-node sends JSON patch by default; a merge of one annotation map is simplest as a replace.
        const current = await clients.core.readNamespace({ name: policed });
        current.metadata!.annotations = {
          [ROLE]: 'arn:aws:iam::123456789012:role/team-a',
          [NAMING]: 'team-a/.*',
        };
        await clients.core.replaceNamespace({ name: policed, body: current });
      });
    // The seed README's remote values; hello-service/credentials gets a second version for AWSPREVIOUS.
    await putSecret('hello-service/password', '1234');
    await putSecret('hello-service/credentials', JSON.stringify({ username: 'admin', password: 'old-pass' }));
    previousPassword = 'old-pass';
    await putSecret(
      'hello-service/credentials',
      JSON.stringify({ username: 'admin', password: '1234', 'api-key': 'k' }),
    );
    await putSecret('hello-service/migration-credentials', JSON.stringify({ password: 'migrated' }));
    await putParameter('/hello-service/password', '1234');

    const endpoint = await proxy.start();
    controller = await ControllerProcess.start({
      AWS_ENDPOINT_URL: endpoint,
      POLLER_INTERVAL_MILLISECONDS: String(POLL_MS),
      WATCHED_NAMESPACES: `${namespace},${policed}`,
      LOG_LEVEL: 'debug',
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
    await proxy.stop();
  });

  it('syncs the seed README examples verbatim', async () => {
    for (const name of [
      'hello-service',
      'hello-service-ssm',
      'hello-service-properties',
      'hello-service-data-from',
      'hello-service-data-from-and-data',
    ]) {
      await createExternalSecret(clients, namespace, fixture(name));
    }
    expect(await secretData('hello-service')).toEqual({ password: '1234' });
    expect(await secretData('hello-service-ssm')).toEqual({ password: '1234' });
    expect(await secretData('hello-service-properties')).toEqual({
      password: '1234',
      username: 'admin',
      password_previous: previousPassword,
    });
    expect(await secretData('hello-service-data-from')).toEqual({
      username: 'admin',
      password: '1234',
      'api-key': 'k',
    });
    // data overrides dataFrom on a name clash.
    expect(await secretData('hello-service-data-from-and-data')).toEqual({
      username: 'admin',
      password: 'migrated',
      'api-key': 'k',
    });

    const { secret } = (await readSecretData(clients, namespace, 'hello-service'))!;
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata?.annotations).toMatchObject({ cat: 'cheese' });
    expect(secret.metadata?.labels).toMatchObject({
      dog: 'farfel',
      'app.kubernetes.io/managed-by': 'kubernetes-external-secrets',
    });
    const owner = await readExternalSecret(clients, namespace, 'hello-service');
    expect(secret.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'ExternalSecret',
        name: 'hello-service',
        uid: owner.metadata.uid,
        controller: true,
      }),
    ]);
    const synced = await waitForStatus(clients, namespace, 'hello-service', 'SUCCESS');
    expect(synced.status?.observedGeneration).toBe(synced.metadata.generation);
    expect(synced.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'Synced' });
    expect(await eventsOf(clients, namespace, 'hello-service')).toContain(
      'Normal Created: Secret ' + `${namespace}/hello-service created: added password`,
    );
    // roleArn was assumed through STS.
    expect(proxy.count('AssumeRole')).toBeGreaterThanOrEqual(1);
  });

  it('honours the deprecated forms', async () => {
    await putSecret('hello-service/docker', '{"auths":{}}');
    for (const name of ['old-secret-descriptor', 'old-spec-type', 'old-backend-type']) {
      await createExternalSecret(clients, namespace, fixture(name));
    }
    expect(await secretData('old-secret-descriptor')).toEqual({ password: '1234' });
    expect(await secretData('old-backend-type')).toEqual({ password: '1234' });
    expect(await secretData('old-spec-type')).toEqual({ '.dockerconfigjson': '{"auths":{}}' });
    expect((await readSecretData(clients, namespace, 'old-spec-type'))!.secret.type).toBe(
      'kubernetes.io/dockerconfigjson',
    );
  });

  it('reads SSM paths, isBinary, SecretBinary, pinned versions and templates', async () => {
    const id = randomBytes(3).toString('hex');
    await putParameter(`/${id}/config/db`, 'db-value', 'String');
    await putParameter(`/${id}/config/nested/api`, 'api-value', 'String');
    await putParameter(`/${id}/list`, 'a,b,c', 'StringList');
    await putParameter(`/${id}/cert`, Buffer.from([0, 1, 2, 250]).toString('base64'));
    await putParameter(`/${id}/json`, JSON.stringify({ fromJson: 'yes' }));
    await putParameter(`/${id}/pinned`, 'v1');
    await putParameter(`/${id}/pinned`, 'v2');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'ssm-everything' },
      spec: {
        backendType: 'systemManager',
        data: [
          { path: `/${id}/config/`, recursive: true },
          { key: `/${id}/list`, name: 'list' },
          { key: `/${id}/cert`, name: 'cert', isBinary: true },
          { key: `/${id}/pinned:1`, name: 'pinned' },
        ],
        dataFromWithOptions: [{ key: `/${id}/json` }],
        template: { type: 'example.com/bundle', stringData: { 'summary.txt': 'pinned=<%= data.pinned %>' } },
      },
    });
    const { secret } = await eventually('ssm-everything Secret', () =>
      readSecretData(clients, namespace, 'ssm-everything'),
    );
    expect(secret.type).toBe('example.com/bundle');
    expect([...Buffer.from(secret.data!.cert!, 'base64')]).toEqual([0, 1, 2, 250]);
    const { data } = (await readSecretData(clients, namespace, 'ssm-everything'))!;
    expect(data).toMatchObject({
      db: 'db-value',
      api: 'api-value',
      list: 'a,b,c',
      pinned: 'v1',
      fromJson: 'yes',
      'summary.txt': 'pinned=v1',
    });

    const binaryVersion = await putSecret(`bin-${id}`, new Uint8Array([7, 0, 255]));
    await putSecret(`bin-${id}`, new Uint8Array([1]));
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'sm-binary' },
      spec: {
        backendType: 'secretsManager',
        data: [{ key: `bin-${id}`, name: 'blob', versionId: binaryVersion }],
      },
    });
    const binary = await eventually('sm-binary Secret', () =>
      readSecretData(clients, namespace, 'sm-binary'),
    );
    expect([...Buffer.from(binary.secret.data!.blob!, 'base64')]).toEqual([7, 0, 255]);
  });

  it('propagates a backend change within one refresh, recreates a deleted Secret, and writes nothing when idle', async () => {
    const key = `rotating-${randomBytes(3).toString('hex')}`;
    const beforeFirstSync = apiAuditMark();
    // Values long enough to be cached as digests: equal ones must not be rewritten, changed ones must.
    const first = `first-${'x'.repeat(100)}`;
    const second = `second-${'x'.repeat(100)}`;
    await putSecret(key, first);
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'rotating' },
      spec: { backendType: 'secretsManager', data: [{ key, name: 'value' }] },
    });
    await eventually('first value', async () =>
      (await readSecretData(clients, namespace, 'rotating'))?.data.value === first ? true : undefined,
    );
    await waitForStatus(clients, namespace, 'rotating', 'SUCCESS');
    // The API server's audit log knows the controller by its User-Agent: the first sync applied the Secret.
    const firstSync = apiRequestsSince(beforeFirstSync, CONTROLLER_USER_AGENT, namespace);
    expect(firstSync.get('PATCH secrets')).toBeGreaterThanOrEqual(1);
    expect(firstSync.get('PATCH externalsecrets/status')).toBeGreaterThanOrEqual(1);

    // Idle: across two refresh intervals neither the Secret nor the ExternalSecret is written, and the
    // controller sends the API server nothing for this namespace (its caches answer; no GET, no LIST).
    const before = await readSecretData(clients, namespace, 'rotating');
    const statusBefore = await readExternalSecret(clients, namespace, 'rotating');
    const idleFrom = apiAuditMark();
    await new Promise((resolve) => setTimeout(resolve, 2.5 * POLL_MS));
    const idleRequests = [...apiRequestsSince(idleFrom, CONTROLLER_USER_AGENT, namespace).keys()];
    expect(idleRequests.filter((request) => !request.startsWith('WATCH '))).toEqual([]);
    expect((await readSecretData(clients, namespace, 'rotating'))!.secret.metadata?.resourceVersion).toBe(
      before!.secret.metadata?.resourceVersion,
    );
    expect((await readExternalSecret(clients, namespace, 'rotating')).metadata.resourceVersion).toBe(
      statusBefore.metadata.resourceVersion,
    );

    const changedAt = Date.now();
    await updateSecret(key, second);
    await eventually(
      'the new value',
      async () =>
        (await readSecretData(clients, namespace, 'rotating'))?.data.value === second ? true : undefined,
      4 * POLL_MS,
    );
    expect(Date.now() - changedAt).toBeLessThan(POLL_MS + 2000);

    await clients.core.deleteNamespacedSecret({ name: 'rotating', namespace });
    await eventually(
      'the Secret recreated',
      async () => (await readSecretData(clients, namespace, 'rotating'))?.data.value,
    );
  });

  it('reads a key shared by many ExternalSecrets once per refresh cycle, batched', async () => {
    const shared = `shared-${randomBytes(3).toString('hex')}`;
    await putSecret(shared, 'same', 'eu-central-1');
    for (let index = 0; index < 6; index++) {
      await createExternalSecret(clients, namespace, {
        metadata: { name: `sharer-${index}` },
        spec: {
          backendType: 'secretsManager',
          region: 'eu-central-1',
          data: [{ key: shared, name: 'value' }],
        },
      });
    }
    for (let index = 0; index < 6; index++) await secretData(`sharer-${index}`);
    // Let the six objects settle on their identity's shared refresh phase, then count whole cycles at the wire.
    await new Promise((resolve) => setTimeout(resolve, 2 * POLL_MS));
    proxy.reset();
    const cycles = 4;
    await new Promise((resolve) => setTimeout(resolve, cycles * POLL_MS));
    const reads =
      proxy.count('BatchGetSecretValue', 'eu-central-1') + proxy.count('GetSecretValue', 'eu-central-1');
    // Six objects, one shared key, one identity: one batched read per cycle (a cycle boundary may add one).
    expect(reads).toBeGreaterThanOrEqual(cycles - 1);
    expect(reads).toBeLessThanOrEqual(cycles + 1);
    expect(proxy.count('GetSecretValue', 'eu-central-1')).toBe(0);
    expect(proxy.count('AssumeRole')).toBe(0);
  });

  it('keeps the last good Secret and reports every bad input clearly', async () => {
    const key = `good-${randomBytes(3).toString('hex')}`;
    await putSecret(key, JSON.stringify({ a: 'A' }));
    await putSecret(`${key}-text`, 'not json {');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'goes-bad' },
      spec: { backendType: 'secretsManager', data: [{ key, name: 'a', property: 'a' }] },
    });
    expect(await secretData('goes-bad')).toEqual({ a: 'A' });

    const cases: Array<[string, object, string]> = [
      ['missing key', { data: [{ key: `${key}-nope`, name: 'a' }] }, `remote key ${key}-nope not found`],
      [
        'missing property',
        { data: [{ key, name: 'a', property: 'b' }] },
        `Could not find property b in ${key}`,
      ],
      [
        'not JSON',
        { data: [{ key: `${key}-text`, name: 'a', property: 'x' }] },
        `the value of ${key}-text is not JSON, which property x needs`,
      ],
      [
        'dataFrom not JSON',
        { dataFrom: [`${key}-text`] },
        `the value of ${key}-text is not JSON, which dataFrom needs`,
      ],
      [
        'template code',
        {
          data: [{ key, name: 'a', property: 'a' }],
          template: { stringData: { x: '<%= process.env.AWS_SECRET_ACCESS_KEY %>' } },
        },
        'is not supported: only <%= data.<name> %> is',
      ],
    ];
    for (const [label, spec, message] of cases) {
      await replaceExternalSecretSpec(clients, namespace, 'goes-bad', {
        backendType: 'secretsManager',
        ...spec,
      });
      const failed = await waitForStatus(clients, namespace, 'goes-bad', `ERROR, `);
      await eventually(`${label}: status`, async () =>
        (await readExternalSecret(clients, namespace, 'goes-bad')).status?.status?.includes(message)
          ? true
          : undefined,
      );
      expect(failed.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False' });
      expect(await secretData('goes-bad')).toEqual({ a: 'A' });
      await eventually(`${label}: event`, async () =>
        (await eventsOf(clients, namespace, 'goes-bad')).some(
          (event) => event.startsWith('Warning') && event.includes(message),
        )
          ? true
          : undefined,
      );
    }
    // Two items writing the same Secret key: the later wins, as KES.
    await replaceExternalSecretSpec(clients, namespace, 'goes-bad', {
      backendType: 'secretsManager',
      data: [
        { key, name: 'a', property: 'a' },
        { key: 'hello-service/password', name: 'a' },
      ],
    });
    await eventually('later item wins', async () =>
      (await readSecretData(clients, namespace, 'goes-bad'))?.data.a === '1234' ? true : undefined,
    );
    expect(controller.text).not.toContain('A"}');
  });

  it('refuses a Secret over 1 MiB and keeps the previous one', async () => {
    const key = `big-${randomBytes(3).toString('hex')}`;
    await putSecret(key, 'small');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'too-big' },
      spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
    });
    expect(await secretData('too-big')).toEqual({ v: 'small' });
    await putSecret(`${key}-2`, 'x'.repeat(700 * 1024));
    await replaceExternalSecretSpec(clients, namespace, 'too-big', {
      backendType: 'secretsManager',
      data: [
        { key, name: 'v' },
        { key: `${key}-2`, name: 'w1' },
        { key: `${key}-2`, name: 'w2' },
      ],
    });
    const failed = await waitForStatus(clients, namespace, 'too-big', 'ERROR');
    expect(failed.status?.status).toMatch(/over Kubernetes' limit of 1048576 bytes \(1 MiB\)/);
    expect(await secretData('too-big')).toEqual({ v: 'small' });
  });

  it('applies the namespace annotations, anchored, to roles and keys (dataFromWithOptions too)', async () => {
    await putSecret('team-a/db', 'team-a-value');
    await createExternalSecret(clients, policed, {
      metadata: { name: 'allowed' },
      spec: {
        backendType: 'secretsManager',
        roleArn: 'arn:aws:iam::123456789012:role/team-a',
        data: [{ key: 'team-a/db', name: 'v' }],
      },
    });
    await createExternalSecret(clients, policed, {
      metadata: { name: 'role-denied' },
      spec: {
        backendType: 'secretsManager',
        roleArn: 'arn:aws:iam::123456789012:role/team-a-admin',
        data: [{ key: 'team-a/db', name: 'v' }],
      },
    });
    await createExternalSecret(clients, policed, {
      metadata: { name: 'key-denied' },
      spec: { backendType: 'secretsManager', dataFromWithOptions: [{ key: 'hello-service/credentials' }] },
    });
    expect(await secretData('allowed', policed)).toEqual({ v: 'team-a-value' });
    const roleDenied = await waitForStatus(clients, policed, 'role-denied', 'ERROR');
    expect(roleDenied.status?.status).toBe(
      `ERROR, not allowed to fetch secret: ${policed}/role-denied: namespace does not allow to assume role arn:aws:iam::123456789012:role/team-a-admin (${ROLE}: arn:aws:iam::123456789012:role/team-a)`,
    );
    expect(roleDenied.status?.conditions?.[0]).toMatchObject({ reason: 'AccessDenied' });
    const keyDenied = await waitForStatus(clients, policed, 'key-denied', 'ERROR');
    expect(keyDenied.status?.status).toContain(
      'key name hello-service/credentials does not match naming convention team-a/.*',
    );
    expect(await readSecretData(clients, policed, 'role-denied')).toBeUndefined();
  });

  it('reports a throttling or unreachable backend, keeps the Secret, and recovers by itself', async () => {
    const key = `flaky-${randomBytes(3).toString('hex')}`;
    await putSecret(key, 'stable', 'ap-south-1');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'flaky' },
      spec: { backendType: 'secretsManager', region: 'ap-south-1', data: [{ key, name: 'v' }] },
    });
    expect(await secretData('flaky')).toEqual({ v: 'stable' });
    proxy.mode = 'down';
    try {
      const failed = await waitForStatus(clients, namespace, 'flaky', 'ERROR', 30_000);
      expect(failed.status?.status).toMatch(/backend unreachable|failed/);
      expect(await secretData('flaky')).toEqual({ v: 'stable' });
      proxy.mode = 'throttle';
      await eventually(
        'throttling reported',
        async () =>
          (await readExternalSecret(clients, namespace, 'flaky')).status?.status?.includes(
            'ThrottlingException',
          )
            ? true
            : undefined,
        30_000,
      );
      expect(await secretData('flaky')).toEqual({ v: 'stable' });
      proxy.mode = 'unavailable';
      await eventually(
        'HTTP 503 reported',
        async () =>
          (await readExternalSecret(clients, namespace, 'flaky')).status?.status?.includes('503')
            ? true
            : undefined,
        30_000,
      );
      expect(await secretData('flaky')).toEqual({ v: 'stable' });
    } finally {
      proxy.mode = 'pass';
    }
    await waitForStatus(clients, namespace, 'flaky', 'SUCCESS', 30_000);
  });

  it('adopts a Secret an earlier controller made, keeping what other tools put on it', async () => {
    await clients.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'adopted', labels: { team: 'a' }, annotations: { 'other.tool/checksum': 'abc' } },
        data: {
          password: Buffer.from('stale').toString('base64'),
          extra: Buffer.from('kept').toString('base64'),
        },
      },
    });
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'adopted' },
      spec: { backendType: 'secretsManager', data: [{ key: 'hello-service/password', name: 'password' }] },
    });
    await eventually('adoption', async () =>
      (await readSecretData(clients, namespace, 'adopted'))?.data.password === '1234' ? true : undefined,
    );
    const { secret, data } = (await readSecretData(clients, namespace, 'adopted'))!;
    expect(data.extra).toBe('kept');
    expect(secret.metadata?.labels).toMatchObject({
      team: 'a',
      'app.kubernetes.io/managed-by': 'kubernetes-external-secrets',
    });
    expect(secret.metadata?.annotations).toMatchObject({ 'other.tool/checksum': 'abc' });
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'ExternalSecret',
      name: 'adopted',
      controller: true,
    });
  });

  it('leaves objects of another INSTANCE_ID alone and reports a backendType it does not serve', async () => {
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'other-instance' },
      spec: {
        backendType: 'secretsManager',
        controllerId: 'blue',
        data: [{ key: 'hello-service/password', name: 'p' }],
      },
    });
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'unknown-backend' },
      secretDescriptor: { backendType: 'azureKeyVault', data: [{ key: 'a', name: 'a' }] },
    });
    const unknown = await waitForStatus(clients, namespace, 'unknown-backend', 'ERROR');
    expect(unknown.status?.status).toMatch(
      /^ERROR, backendType azureKeyVault is not served by this controller/,
    );
    expect(unknown.status?.conditions?.[0]).toMatchObject({ reason: 'InvalidSpec' });
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    expect(await readSecretData(clients, namespace, 'other-instance')).toBeUndefined();
    expect((await readExternalSecret(clients, namespace, 'other-instance')).status).toBeUndefined();
  });

  it('never writes a secret value or credential into its logs, even at debug level', () => {
    expect(controller.text).toContain('"level":20');
    for (const value of ['1234', 'old-pass', 'team-a-value', 'stable', 'migrated']) {
      expect(controller.text).not.toMatch(new RegExp(`[^\\w]${value}[^\\w]`));
    }
    // Static keys of the environment and the temporary keys STS returned for roleArn.
    expect(controller.text).not.toMatch(/(AKIA|ASIA)[A-Z0-9]{12,}/);
    expect(controller.text).not.toContain(process.env.AWS_SECRET_ACCESS_KEY);
  });
});
