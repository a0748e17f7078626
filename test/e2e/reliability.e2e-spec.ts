import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { putSecret, updateSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventually,
  kubeClients,
  readSecretData,
  replaceExternalSecretSpec,
} from '../support/kube.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const syncCount = async (controller: ControllerProcess) => {
  const metrics = await (await fetch(controller.url('/metrics'))).text();
  return metrics
    .split('\n')
    .filter((line) => line.startsWith('kubernetes_external_secrets_sync_calls_count{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
};

/** The admin kubeconfig with the API server's address replaced by a proxy's. */
function kubeconfigThrough(port: number): string {
  const original = readFileSync(process.env.KUBECONFIG!, 'utf8');
  const file = join(mkdtempSync(join(tmpdir(), 'es-proxied-')), 'kubeconfig');
  writeFileSync(
    file,
    original.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`),
  );
  return file;
}

describe('faults: the controller survives them, loses nothing and tells the truth meanwhile', () => {
  const clients = kubeClients();
  const apiServerPort = Number(new URL(clients.kubeConfig.getCurrentCluster()!.server).port);

  it('a silently stalled watch fails /healthz; when the connection returns, everything catches up', async () => {
    const namespace = await createTestNamespace('stall');
    const key = `stall-${randomBytes(3).toString('hex')}`;
    await putSecret(key, 'one');
    const proxy = new TcpProxy('127.0.0.1', apiServerPort);
    const port = await proxy.start();
    const controller = await ControllerProcess.start({
      KUBECONFIG: kubeconfigThrough(port),
      WATCH_TIMEOUT: '2000',
      POLLER_INTERVAL_MILLISECONDS: '1500',
      WATCHED_NAMESPACES: namespace,
    });
    try {
      await controller.waitHealthy('/readyz');
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'before' },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
      await eventually(
        'the first sync',
        async () => (await readSecretData(clients, namespace, 'before'))?.data.v,
      );

      proxy.freeze();
      await eventually('liveness to fail', async () => {
        const response = await fetch(controller.url('/healthz'));
        return response.status === 503 && (await response.text()).includes('watch silent') ? true : undefined;
      });
      // Changes made while the controller is cut off …
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'during' },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
      await updateSecret(key, 'two');
      expect(await readSecretData(clients, namespace, 'during')).toBeUndefined();

      proxy.thaw();
      // … arrive once it is back, and the probe recovers.
      await eventually(
        'the new object',
        async () => (await readSecretData(clients, namespace, 'during'))?.data.v,
        60_000,
      );
      await eventually(
        'the changed value',
        async () =>
          (await readSecretData(clients, namespace, 'before'))?.data.v === 'two' ? true : undefined,
        60_000,
      );
      await controller.waitHealthy('/healthz', 60_000);
    } finally {
      await controller.stop().catch(() => undefined);
      await proxy.stop();
    }
  });

  it('cut connections: informers re-watch without re-syncing every object', async () => {
    const namespace = await createTestNamespace('cut');
    const key = `cut-${randomBytes(3).toString('hex')}`;
    await putSecret(key, 'value');
    for (let index = 0; index < 10; index++) {
      await createExternalSecret(clients, namespace, {
        metadata: { name: `cut-${index}` },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
    }
    const proxy = new TcpProxy('127.0.0.1', apiServerPort);
    const port = await proxy.start();
    // Without polling, any sync after the cut would be part of a re-sync storm.
    const controller = await ControllerProcess.start({
      KUBECONFIG: kubeconfigThrough(port),
      DISABLE_POLLING: 'true',
      WATCHED_NAMESPACES: namespace,
    });
    try {
      await controller.waitHealthy('/readyz');
      await eventually('all ten synced', async () =>
        (await syncCount(controller)) >= 10 ? true : undefined,
      );
      await sleep(1000);
      const before = await syncCount(controller);
      for (let cut = 0; cut < 3; cut++) {
        proxy.drop();
        await sleep(1500);
      }
      await controller.waitHealthy('/healthz');
      await sleep(2000);
      expect(await syncCount(controller)).toBe(before);
      // The watches work again: a spec change syncs at once.
      await replaceExternalSecretSpec(clients, namespace, 'cut-0', {
        backendType: 'secretsManager',
        data: [{ key, name: 'renamed' }],
      });
      await eventually(
        'the spec change',
        async () => (await readSecretData(clients, namespace, 'cut-0'))?.data.renamed,
        30_000,
      );
    } finally {
      await controller.stop().catch(() => undefined);
      await proxy.stop();
    }
  });

  it('the API server restarts during a burst of syncs: every Secret converges, none is lost', async () => {
    const namespace = await createTestNamespace('restart');
    const count = 30;
    const id = randomBytes(3).toString('hex');
    await Promise.all(
      Array.from({ length: count }, (_, index) => putSecret(`restart-${id}-${index}`, `value-${index}`)),
    );
    for (let index = 0; index < count; index++) {
      await createExternalSecret(clients, namespace, {
        metadata: { name: `restart-${index}` },
        spec: { backendType: 'secretsManager', data: [{ key: `restart-${id}-${index}`, name: 'v' }] },
      });
    }
    const controller = await ControllerProcess.start({
      WATCHED_NAMESPACES: namespace,
      POLLER_INTERVAL_MILLISECONDS: '2000',
    });
    const stackDir = process.env.STACK_DIR!;
    try {
      await controller.waitHealthy('/readyz');
      await eventually('the burst to start', async () =>
        (await clients.core.listNamespacedSecret({ namespace })).items.length >= 1 ? true : undefined,
      );
      process.kill(Number(readFileSync(join(stackDir, 'kube-apiserver.pid'), 'utf8')), 'SIGKILL');
      await sleep(3000);
      await run('bash', [new URL('../stack/start.sh', import.meta.url).pathname]);
      await eventually(
        'every Secret',
        async () => {
          const secrets = (await clients.core.listNamespacedSecret({ namespace })).items;
          return secrets.length === count ? secrets : undefined;
        },
        90_000,
      );
      for (let index = 0; index < count; index++) {
        expect((await readSecretData(clients, namespace, `restart-${index}`))?.data.v).toBe(`value-${index}`);
      }
      await controller.waitHealthy('/healthz', 60_000);
    } finally {
      await controller.stop().catch(() => undefined);
    }
  });

  it('etcd restarts while values change: every Secret converges, none is lost', async () => {
    const namespace = await createTestNamespace('etcd');
    const count = 10;
    const id = randomBytes(3).toString('hex');
    await Promise.all(
      Array.from({ length: count }, (_, index) => putSecret(`etcd-${id}-${index}`, `first-${index}`)),
    );
    for (let index = 0; index < count; index++) {
      await createExternalSecret(clients, namespace, {
        metadata: { name: `etcd-${index}` },
        spec: { backendType: 'secretsManager', data: [{ key: `etcd-${id}-${index}`, name: 'v' }] },
      });
    }
    const controller = await ControllerProcess.start({
      WATCHED_NAMESPACES: namespace,
      POLLER_INTERVAL_MILLISECONDS: '2000',
    });
    const stackDir = process.env.STACK_DIR!;
    try {
      await controller.waitHealthy('/readyz');
      await eventually('the first sync', async () =>
        (await clients.core.listNamespacedSecret({ namespace })).items.length === count ? true : undefined,
      );
      process.kill(Number(readFileSync(join(stackDir, 'etcd.pid'), 'utf8')), 'SIGKILL');
      // Values change while the API server has no storage.
      await Promise.all(
        Array.from({ length: count }, (_, index) => updateSecret(`etcd-${id}-${index}`, `second-${index}`)),
      );
      await sleep(4000);
      await run('bash', [new URL('../stack/start.sh', import.meta.url).pathname]);
      await eventually(
        'every Secret updated',
        async () => {
          for (let index = 0; index < count; index++) {
            if ((await readSecretData(clients, namespace, `etcd-${index}`))?.data.v !== `second-${index}`)
              return undefined;
          }
          return true;
        },
        90_000,
      );
      await controller.waitHealthy('/healthz', 60_000);
    } finally {
      await controller.stop().catch(() => undefined);
    }
  });

  it('a controller killed (SIGKILL) in the middle of writes restarts cleanly: no partial Secret, all converge', async () => {
    const namespace = await createTestNamespace('kill');
    const count = 40;
    const id = randomBytes(3).toString('hex');
    const expected = (index: number) => ({ a: `a-${index}`, b: `b-${index}`, c: `c-${index}` });
    await Promise.all(
      Array.from({ length: count }, (_, index) =>
        putSecret(`kill-${id}-${index}`, JSON.stringify(expected(index))),
      ),
    );
    for (let index = 0; index < count; index++) {
      await createExternalSecret(clients, namespace, {
        metadata: { name: `kill-${index}` },
        spec: { backendType: 'secretsManager', dataFrom: [`kill-${id}-${index}`] },
      });
    }
    const first = await ControllerProcess.start({
      WATCHED_NAMESPACES: namespace,
      KUBE_API_QPS: '20',
      KUBE_API_BURST: '5',
    });
    await eventually('the first writes', async () =>
      (await clients.core.listNamespacedSecret({ namespace })).items.length >= 3 ? true : undefined,
    );
    await first.stop('SIGKILL');
    const written = (await clients.core.listNamespacedSecret({ namespace })).items;
    expect(written.length).toBeLessThan(count);
    for (const secret of written) {
      const index = Number(secret.metadata!.name!.split('-').pop());
      const data = Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value, 'base64').toString(),
        ]),
      );
      expect(data).toEqual(expected(index));
    }
    const second = await ControllerProcess.start({ WATCHED_NAMESPACES: namespace });
    try {
      await eventually(
        'every Secret after the restart',
        async () =>
          (await clients.core.listNamespacedSecret({ namespace })).items.length === count ? true : undefined,
        30_000,
      );
      for (let index = 0; index < count; index++) {
        expect((await readSecretData(clients, namespace, `kill-${index}`))?.data).toEqual(expected(index));
      }
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
