// The demo's main part (scripts/demo.sh brings the stack up first and sources its environment): seeds AWS
// values in moto and OpenBao, applies the KES README's examples, runs the built controller, shows the Secrets it
// makes, rotates a value and shows it arrive, then stops the controller.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

const NAMESPACE = 'demo';
const POLL_MS = 3000;
const EXAMPLES = [
  'hello-vault-service',
  'hello-service',
  'hello-service-ssm',
  'hello-service-properties',
  'hello-service-data-from',
  'hello-service-data-from-and-data',
];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const sm = new SecretsManagerClient({ endpoint: process.env.MOTO_ENDPOINT });
const ssm = new SSMClient({ endpoint: process.env.MOTO_ENDPOINT });
async function putSecret(name, value) {
  try {
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  } catch (error) {
    if (error.name !== 'ResourceExistsException') throw error;
    await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
  }
}
console.log('seeding moto: Secrets Manager hello-service/*, Parameter Store /hello-service/password');
await putSecret('hello-service/credentials', JSON.stringify({ username: 'admin', password: 'previous' }));
await putSecret('hello-service/credentials', JSON.stringify({ username: 'admin', password: '1234' }));
await putSecret('hello-service/password', '1234');
await putSecret('hello-service/migration-credentials', JSON.stringify({ password: 'migrated' }));
await ssm.send(
  new PutParameterCommand({
    Name: '/hello-service/password',
    Value: '1234',
    Type: 'SecureString',
    Overwrite: true,
  }),
);

console.log('seeding OpenBao: secret/data/hello-service/credentials');
const written = await fetch(`${process.env.VAULT_ADDR}/v1/secret/data/hello-service/credentials`, {
  method: 'POST',
  headers: { 'X-Vault-Token': process.env.BAO_ROOT_TOKEN },
  body: JSON.stringify({ data: { password: '1234', 'api-key': 'demo-api-key' } }),
});
if (!written.ok) throw new Error(`OpenBao answered ${written.status}`);

const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const core = kubeConfig.makeApiClient(CoreV1Api);
const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
const ignoreConflict = (error) => {
  if (error.code !== 409) throw error;
};
await core.createNamespace({ body: { metadata: { name: NAMESPACE } } }).catch(ignoreConflict);
const fixtures = parseAllDocuments(
  readFileSync(new URL('../test/fixtures/seed-examples.yaml', import.meta.url), 'utf8'),
).map((doc) => doc.toJS());
const group = {
  group: 'kubernetes-client.io',
  version: 'v1',
  plural: 'externalsecrets',
  namespace: NAMESPACE,
};
const ignoreMissing = (error) => {
  if (error.code !== 404) throw error;
};
for (const manifest of fixtures.filter((each) => EXAMPLES.includes(each.metadata.name))) {
  // A re-run starts from scratch: the example and its Secret are made anew.
  const { name } = manifest.metadata;
  await customObjects.deleteNamespacedCustomObject({ ...group, name }).catch(ignoreMissing);
  await core.deleteNamespacedSecret({ name, namespace: NAMESPACE }).catch(ignoreMissing);
  await customObjects.createNamespacedCustomObject({ ...group, body: manifest });
  console.log(`applied ExternalSecret ${NAMESPACE}/${manifest.metadata.name} (${manifest.spec.backendType})`);
}

const port = 3101;
// The image's command line (`npm start`: its environment, then `node` and its arguments; kept equal to the
// Dockerfile's ENV and ENTRYPOINT by a test).
const startWords = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start.split(' ');
const nodeAt = startWords.indexOf('node');
const startEnvironment = Object.fromEntries(
  startWords.slice(0, nodeAt).map((assignment) => assignment.split(/=(.*)/s, 2)),
);
const controller = spawn(process.execPath, startWords.slice(nodeAt + 1), {
  env: {
    ...process.env,
    ...startEnvironment,
    METRICS_PORT: String(port),
    POLLER_INTERVAL_MILLISECONDS: String(POLL_MS),
    WATCHED_NAMESPACES: NAMESPACE,
    SERVICE_ACCOUNT_TOKEN_PATH: process.env.ES_VAULT_TOKEN_PATH,
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const exited = new Promise((resolve) => controller.once('exit', resolve));
try {
  const started = Date.now();
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (ready?.ok) break;
    if (Date.now() - started > 60_000) throw new Error('the controller did not become ready');
    await sleep(100);
  }
  console.log(`controller ready in ${Date.now() - started} ms`);
  const readSecret = (name) =>
    core.readNamespacedSecret({ name, namespace: NAMESPACE }).catch(() => undefined);
  for (const name of EXAMPLES) {
    while (!(await readSecret(name))) {
      if (Date.now() - started > 60_000) throw new Error(`Secret ${name} did not appear`);
      await sleep(200);
    }
  }
  console.log(
    `\nall ${EXAMPLES.length} Secrets synced in ${Date.now() - started} ms (controller start included):`,
  );
  for (const name of EXAMPLES) {
    const secret = await readSecret(name);
    const data = Object.entries(secret.data ?? {}).map(
      ([key, value]) => `${key}=${Buffer.from(value, 'base64')}`,
    );
    console.log(
      `  ${NAMESPACE}/${name}: ${data.join(' ')}  labels=${JSON.stringify(secret.metadata.labels)}`,
    );
  }

  console.log('\nrotating hello-service/password to 5678 …');
  const rotated = Date.now();
  await putSecret('hello-service/password', '5678');
  for (;;) {
    const secret = await readSecret('hello-service');
    if (Buffer.from(secret.data.password, 'base64').toString() === '5678') break;
    if (Date.now() - rotated > 3 * POLL_MS) throw new Error('the rotated value did not arrive');
    await sleep(100);
  }
  console.log(
    `the new value reached the Secret in ${Date.now() - rotated} ms (refresh interval ${POLL_MS} ms)`,
  );

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  console.log('\nbackend calls so far (from /metrics):');
  for (const line of metrics
    .split('\n')
    .filter((each) => each.startsWith('kubernetes_external_secrets_backend_calls_total'))) {
    console.log(`  ${line}`);
  }
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  console.log(`\n/healthz: ${health.status}`);
} finally {
  controller.kill('SIGTERM');
  console.log(`controller exited with code ${await exited}`);
}
