import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createProxy } from 'proxy';
import { forwardRequest } from './http-forward.js';

/** What reached the forward proxy: a CONNECT tunnel (`host:port`) or a forwarded request (absolute URL). */
export interface ProxiedRequest {
  readonly method: string;
  /** `host:port` of the tunnel or of the forwarded request's URL. */
  readonly target: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/;

/**
 * A real forward proxy on loopback (the `proxy` package: CONNECT tunnels and absolute-form requests, as a
 * Squid would serve them), recording every request it gets. It connects only to loopback targets: anything
 * else is refused with 407 before a connection or DNS lookup is made, so tests can see which host a client
 * asked for (e.g. sts.eu-west-1.amazonaws.com) without any traffic leaving the machine.
 */
export class ForwardProxy {
  readonly requests: ProxiedRequest[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<string> {
    const server = createProxy(createHttpServer());
    server.authenticate = (request: IncomingMessage) => {
      const target = targetOf(request);
      this.requests.push({ method: request.method ?? '', target });
      return LOOPBACK.test(target);
    };
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** CONNECT tunnels opened to `target` (`host:port`), or to any target. */
  tunnels(target?: string): number {
    return this.requests.filter((r) => r.method === 'CONNECT' && (!target || r.target === target)).length;
  }

  targets(): Set<string> {
    return new Set(this.requests.map((r) => r.target));
  }

  reset(): void {
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function targetOf(request: IncomingMessage): string {
  if (request.method === 'CONNECT') return request.url ?? '';
  try {
    const url = new URL(request.url ?? '');
    return `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  } catch {
    return request.url ?? '';
  }
}

/**
 * An HTTPS front on 127.0.0.1 for a plain-HTTP service of the stack (moto, OpenBao), with the stack's
 * API-server certificate (SAN 127.0.0.1, signed by the stack's CA): real AWS and Vault are https://, and a
 * client reaches an https:// URL through a proxy only by a CONNECT tunnel. Counts the TLS connections it
 * accepts, so a test can tell tunnelled connections from direct ones.
 */
export class TlsFront {
  connections = 0;
  private server: Server | undefined;

  constructor(private readonly upstream: string) {}

  async start(): Promise<string> {
    const pki = process.env.STACK_PKI!;
    const target = new URL(this.upstream);
    const server = createHttpsServer(
      {
        cert: readFileSync(join(pki, 'apiserver.crt')),
        key: readFileSync(join(pki, 'apiserver.key')),
      },
      (incoming, outgoing) => forwardRequest(target, incoming, outgoing),
    );
    server.on('secureConnection', () => this.connections++);
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  get hostPort(): string {
    return `127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
