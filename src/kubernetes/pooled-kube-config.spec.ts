import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { PooledKubeConfig } from './pooled-kube-config.js';

/** An API server that accepts connections and never answers (a dead peer behind a live socket). */
async function silentServer(): Promise<{
  server: Server;
  url: string;
  sockets: Socket[];
  closed: Set<Socket>;
}> {
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.push(socket);
    // Read (and drop) what the client sends, so that its closing the connection is seen here.
    socket.resume();
    socket.on('close', () => closed.add(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, sockets, closed };
}

function kubeConfigFor(server: string): PooledKubeConfig {
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'silent', server, skipTLSVerify: true }],
    users: [{ name: 'controller', token: 'not-a-secret' }],
    contexts: [{ name: 'silent', cluster: 'silent', user: 'controller' }],
    currentContext: 'silent',
  });
  return kubeConfig;
}

describe('PooledKubeConfig.makeApiClient with requestTimeoutMs', () => {
  let peer: Awaited<ReturnType<typeof silentServer>> | undefined;
  afterEach(async () => {
    for (const socket of peer?.sockets ?? []) socket.destroy();
    await new Promise((resolve) => peer?.server.close(resolve));
  });

  it('aborts a request the server never answers, and closes its connection', async () => {
    peer = await silentServer();
    const coordination = kubeConfigFor(peer.url).makeApiClient(CoordinationV1Api, { requestTimeoutMs: 200 });
    const started = Date.now();
    const failure = await coordination
      .readNamespacedLease({ name: 'lease', namespace: 'kube-system' })
      .catch((error: unknown) => error);
    const tookMs = Date.now() - started;
    expect((failure as Error).name).toBe('TimeoutError');
    expect(tookMs).toBeGreaterThanOrEqual(190);
    expect(tookMs).toBeLessThan(2000);
    expect(peer.sockets).toHaveLength(1);
    await expect.poll(() => peer!.closed.size).toBe(1);
  });
});
