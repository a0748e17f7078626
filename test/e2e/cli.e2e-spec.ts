import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putParameter, putSecret, updateSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventually,
  kubeClients,
  readSecretData,
  readYamlDocuments,
  type ExternalSecretObject,
} from '../support/kube.js';
import { REJECTED_SPECS } from '../fixtures/rejected-specs.js';

const KES = resolve('dist/cli/main.js');
const SEED_URL = new URL('../fixtures/seed-examples.yaml', import.meta.url);
const SEED = SEED_URL.pathname;
const folder = mkdtempSync(join(tmpdir(), 'kes-e2e-'));
const file = (name: string, documents: object[]) => {
  const path = join(folder, name);
  writeFileSync(path, documents.map((document) => stringify(document)).join('---\n'));
  return path;
};
const seed = readYamlDocuments<ExternalSecretObject>(SEED_URL);
const example = (name: string) => seed.find((document) => document.metadata.name === name)!;
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A command's exit code and output. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; out: string; err: string }>((done) => {
    const child = spawn(command, args, { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => done({ code, out, err }));
  });
}

/** The built `kes` as a user runs it: its own process, the stack's environment (credentials, endpoints). */
const kes = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [KES, ...args], { ...process.env, ...env });

describe('kes, the command line, against the real stack', () => {
  const clients = kubeClients();
  const vault = { VAULT_TOKEN: process.env.BAO_ROOT_TOKEN };
  let namespace: string;
  let controller: ControllerProcess;

  beforeAll(async () => {
    await putSecret('hello-service/password', 'cli-1234');
    await putParameter('/hello-service/password', 'cli-ssm');
    await fetch(`${process.env.VAULT_ADDR}/v1/secret/data/hello-service/credentials`, {
      method: 'POST',
      headers: { 'X-Vault-Token': process.env.BAO_ROOT_TOKEN! },
      body: JSON.stringify({ data: { password: 'cli-vault', 'api-key': 'cli-key' } }),
    });
    namespace = await createTestNamespace('cli');
    controller = await ControllerProcess.start({
      POLLER_INTERVAL_MILLISECONDS: '600000',
      WATCHED_NAMESPACES: namespace,
      LOG_LEVEL: 'debug',
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
  });

  it('validate: the seed README’s examples pass; every form the API server refuses is found, one line each', async () => {
    expect(await kes(['validate', SEED])).toMatchObject({ code: 0, out: '1 file(s) valid\n' });
    const rejected = file(
      'rejected.yaml',
      REJECTED_SPECS.map(([, spec], index) => ({
        apiVersion: 'kubernetes-client.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: `bad-${index}` },
        spec,
      })),
    );
    const result = await kes(['validate', rejected]);
    expect(result.code).toBe(1);
    const documents = new Set(
      result.err
        .trim()
        .split('\n')
        .map((line) => line.split(':')[1]),
    );
    expect(documents.size).toBe(REJECTED_SPECS.length);
    for (const line of result.err.trim().split('\n'))
      expect(line).toMatch(/^\/.*rejected\.yaml:\d+: [\w.[\]()]+: .+$/);
  });

  it('render: each backend’s example as the controller would write it, values masked; the calls on stderr', async () => {
    const examples = file('examples.yaml', [
      example('hello-service'),
      example('hello-service-ssm'),
      example('hello-vault-service'),
    ]);
    const masked = await kes(['render', examples, '-n', namespace], vault);
    expect(masked.code).toBe(0);
    expect(masked.out).not.toContain(b64('cli-1234'));
    expect(masked.out).toContain(`password: <8 bytes, sha256 `);
    expect(masked.err).toMatch(/^backend calls: .*secretsManager BatchGetSecretValue 1/m);
    expect(masked.err).toMatch(/sts AssumeRole 1/);
    expect(masked.err).toMatch(/systemManager GetParameters 1/);
    expect(masked.err).toMatch(/vault read 1/);

    const shown = await kes(['render', examples, '-n', namespace, '--show-values', '-o', 'json'], vault);
    const secrets = shown.out.split(/\n(?=\{)/).map(
      (text) =>
        JSON.parse(text) as {
          metadata: { name: string; labels: object; annotations: object };
          data: Record<string, string>;
        },
    );
    expect(secrets.map((secret) => [secret.metadata.name, secret.data])).toEqual([
      ['hello-service', { password: b64('cli-1234') }],
      ['hello-service-ssm', { password: b64('cli-ssm') }],
      ['hello-vault-service', { password: b64('cli-vault'), 'api-key': b64('cli-key') }],
    ]);
    expect(secrets[0]!.metadata).toMatchObject({ labels: { dog: 'farfel' }, annotations: { cat: 'cheese' } });

    const missing = file('missing.yaml', [
      {
        ...example('hello-service-ssm'),
        spec: { backendType: 'systemManager', data: [{ key: '/no/such', name: 'x' }] },
      },
    ]);
    const failed = await kes(['render', missing]);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/^default\/hello-service-ssm: ERROR, .*\/no\/such/m);
  });

  it('status: one table, the broken one first; --fail-on-error exits 1', async () => {
    try {
      await statusTest();
    } catch (error) {
      console.log(
        controller.text
          .split('\n')
          .filter((line) => line.includes('healthy') || line.includes('lease'))
          .join('\n'),
      );
      throw error;
    }
  });
  const statusTest = async () => {
    const key = `cli-${Date.now()}/ok`;
    await putSecret(key, 'v1');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'healthy' },
      spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
    });
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'broken' },
      spec: { backendType: 'secretsManager', data: [{ key: 'cli/missing', name: 'v' }] },
    });
    await eventually(
      'both answered',
      async () => {
        const result = await kes(['status', '-n', namespace]);
        return /healthy.*True/.test(result.out) && /broken.*False/.test(result.out) ? result : undefined;
      },
      30_000,
    );
    const result = await kes(['status', '-n', namespace, '--fail-on-error']);
    expect(result.code).toBe(1);
    const lines = result.out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+BACKEND\s+READY/);
    expect(lines[1]).toMatch(new RegExp(`^${namespace}\\s+broken\\s+secretsManager\\s+False\\s+SyncFailed`));
    expect(lines[2]).toMatch(new RegExp(`^${namespace}\\s+healthy\\s+secretsManager\\s+True\\s+Synced`));
    expect(result.out).not.toContain('\u001b[');
    expect((await kes(['status', '-A'])).out).toContain('healthy');

    // diff: nothing to change, then a remote change shows as one changed key (a digest, no value) and exit 1.
    const manifest = file('healthy.yaml', [
      {
        apiVersion: 'kubernetes-client.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'healthy', namespace },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      },
    ]);
    const unchanged = await kes(['diff', manifest]);
    expect(unchanged.code).toBe(0);
    expect(unchanged.out).toContain(`Secret ${namespace}/healthy: no change`);
    await updateSecret(key, 'v2-changed');
    const diff = await kes(['diff', manifest]);
    expect(diff.code).toBe(1);
    expect(diff.out).toContain(`Secret ${namespace}/healthy: 1 key(s) would change`);
    expect(diff.out).toMatch(/~ v <2 bytes, sha256 [0-9a-f]{12}> → <10 bytes, sha256 [0-9a-f]{12}>/);
    expect(diff.out).not.toContain('v2-changed');

    // sync: the controller (10-minute interval) syncs at once with a fresh read and answers.
    const synced = await kes(['sync', 'healthy', '-n', namespace, '--timeout', '20s']);
    expect(synced, controller.text.slice(-6000)).toMatchObject({ code: 0 });
    expect((await readSecretData(clients, namespace, 'healthy'))?.data.v, controller.text.slice(-6000)).toBe(
      'v2-changed',
    );
    expect(
      synced.out,
      controller.text
        .split('\n')
        .filter((line) => line.includes('healthy'))
        .join('\n'),
    ).toMatch(
      new RegExp(
        `^${namespace}/healthy: Ready True Synced: the Secret is in sync; last write: changed v\\n$`,
      ),
    );
    expect((await readSecretData(clients, namespace, 'healthy'))?.data.v).toBe('v2-changed');
    // Nothing changed since: still answered (a status echo), still Ready.
    expect((await kes(['sync', 'healthy', '-n', namespace])).code).toBe(0);
    const all = await kes(['sync', '--all', '-n', namespace, '--timeout', '20s']);
    expect(all.code).toBe(1);
    expect(all.out).toMatch(new RegExp(`^${namespace}/broken: Ready False SyncFailed: `, 'm'));
  };
  it('kubectl kes status: kubectl (built with the stack’s tools) finds the plugin kubectl-kes on PATH', async () => {
    const kubectl = process.env.KUBECTL_BIN;
    if (!kubectl)
      throw new Error('KUBECTL_BIN is not set: the stack’s tools build kubectl (test/stack/ensure-tools.sh)');
    // What `npm install -g` links: an executable named kubectl-kes (here on the test's own Node.js).
    const bin = join(folder, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'kubectl-kes'), `#!/bin/sh\nexec "${process.execPath}" "${KES}" "$@"\n`);
    chmodSync(join(bin, 'kubectl-kes'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}` };
    const plugins = await run(kubectl, ['plugin', 'list'], env);
    expect(plugins.out).toContain(join(bin, 'kubectl-kes'));
    const status = await run(kubectl, ['kes', 'status', '-n', namespace], env);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(new RegExp(`^${namespace}\\s+healthy\\s+secretsManager\\s+True`, 'm'));
  });
  it('status --watch: a new table when something changes (one per change off a terminal); the values stay hidden', async () => {
    const child = spawn(process.execPath, [KES, 'status', '-n', namespace, '--watch'], { env: process.env });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await eventually('the first table', () => (out.includes('healthy') ? true : undefined));
      expect(out).not.toContain('watched');
      const key = `cli-${Date.now()}/watched`;
      await putSecret(key, 'w');
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'watched' },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
      await eventually(
        'a table with the new object, synced',
        () => (/watched\s+secretsManager\s+True/.test(out) ? true : undefined),
        30_000,
      );
      expect(out.split('NAMESPACE').length - 1).toBeGreaterThanOrEqual(2);
      expect(out).not.toContain('\u001b[');
    } finally {
      child.kill('SIGINT');
    }
  });
});
