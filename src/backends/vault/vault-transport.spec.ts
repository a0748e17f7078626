import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import nodeVault from 'node-vault';
import { register } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/controller-config.js';
import { ControllerMetrics } from '../../metrics/controller-metrics.service.js';
import { BackendError, toBackendError } from '../backend-errors.js';
import { createOutboundAgents, OutboundHttp } from '../outbound-agents.service.js';
import { VaultBackend } from './vault.backend.js';
import { vaultStatusOf } from './vault-session.js';
import { vaultTransport } from './vault-transport.js';

/**
 * The transport's contract with node-vault, against a loopback server that answers what Vault answers on the wire
 * (and what a Vault behind a broken proxy answers: text, silence). Reading through real OpenBao is the e2e suite's.
 */
type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;
let handler: Handler = (_request, _body, response) => response.end();
let server: Server;
let address: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handler(request, Buffer.concat(chunks).toString('utf8'), response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

/** The rejection of a promise that must fail (undefined if it did not). */
const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );

const client = (timeoutMs = 2_000) =>
  nodeVault({
    endpoint: address,
    token: 'test-token',
    'request-promise': vaultTransport(createOutboundAgents({}), timeoutMs),
  });

describe('vaultTransport under node-vault', () => {
  it('reads: the path under /v1, the token header, the JSON answer', async () => {
    let seen: { url?: string; token?: string | string[] } = {};
    handler = (request, _body, response) => {
      seen = { url: request.url, token: request.headers['x-vault-token'] };
      json(response, 200, { data: { data: { password: 'p' }, metadata: { version: 3 } } });
    };
    await expect(client().read('secret/data/app')).resolves.toEqual({
      data: { data: { password: 'p' }, metadata: { version: 3 } },
    });
    expect(seen).toEqual({ url: '/v1/secret/data/app', token: 'test-token' });
  });

  it('writes: a JSON body with its type and length', async () => {
    let received: { type?: string; body?: string } = {};
    handler = (request, body, response) => {
      received = { type: request.headers['content-type'], body };
      json(response, 200, { auth: { client_token: 't' } });
    };
    await client().kubernetesLogin({ role: 'r', jwt: 'j' });
    expect(received).toEqual({ type: 'application/json', body: JSON.stringify({ role: 'r', jwt: 'j' }) });
  });

  it.each([
    [404, { errors: [] }, 'Status 404'],
    [403, { errors: ['permission denied'] }, 'permission denied'],
    [503, 'upstream connect error', 'Status 503'],
  ])('an answer %i is an error node-vault reports, with its status', async (status, body, message) => {
    handler = (_request, _body, response) =>
      typeof body === 'string' ? response.writeHead(status).end(body) : json(response, status, body);
    const error = await failureOf(client().read('secret/data/app'));
    expect(vaultStatusOf(error)).toBe(status);
    expect((error as Error).message).toBe(message);
  });

  it('a Vault that never answers fails within the timeout, as a transient network error', async () => {
    handler = () => undefined;
    const started = Date.now();
    const error = await failureOf(client(300).read('secret/data/app'));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((error as { code?: string }).code).toBe('ETIMEDOUT');
    expect(toBackendError(error, 'reading')).toMatchObject({ transient: true });
  });

  it('a refused connection is a transient network error', async () => {
    const refused = nodeVault({
      endpoint: 'http://127.0.0.1:1',
      'request-promise': vaultTransport(createOutboundAgents({}), 1_000),
    });
    const error = await failureOf(refused.read('secret/data/app'));
    expect(toBackendError(error, 'reading')).toMatchObject({ transient: true });
  });
});

describe('VaultBackend: what an answer means', () => {
  afterEach(() => register.clear());

  const read = async () => {
    const config = loadConfig({ VAULT_ADDR: address, VAULT_TOKEN: 'static' });
    const backend = new VaultBackend(config, new ControllerMetrics(), new OutboundHttp(config));
    const identity = backend.identityFor({ kvVersion: 2, vaultMountPoint: 'k', vaultRole: 'r' } as never);
    return backend.fetchMany(identity, [{ kind: 'key', key: 'secret/data/app' }]);
  };

  it.each([500, 503, 429])(
    '%i (sealed, no leader, overloaded) is transient: backed off and retried',
    async (status) => {
      handler = (_request, _body, response) => json(response, status, { errors: ['Vault is sealed'] });
      const error = await failureOf(read());
      expect(error).toBeInstanceOf(BackendError);
      expect(error).toMatchObject({ transient: true });
      expect((error as Error).message).toContain(`(HTTP ${status})`);
    },
  );

  it('404 is the one key not found; the backend itself is fine', async () => {
    handler = (_request, _body, response) => json(response, 404, { errors: [] });
    const values = await read();
    expect([...values.values()][0]).toMatchObject({ name: 'RemoteKeyNotFoundError' });
  });
});
