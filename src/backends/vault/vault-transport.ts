import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OutboundAgents } from '../outbound-agents.service.js';

/** What node-vault hands its transport: the request-promise options it was written for. */
export interface VaultTransportRequest {
  readonly method: string;
  readonly uri: string;
  readonly headers?: Record<string, string>;
  /** A request body (login, renew, write); `true` in node-vault's defaults means "JSON in and out". */
  readonly json?: unknown;
}

/** What node-vault expects back (request-promise's full response): it reads these three fields. */
export interface VaultTransportResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}

/** A network failure with the errno-style code the backend error mapping reads (e.g. ETIMEDOUT: transient). */
class VaultTransportError extends Error {
  override readonly name = 'VaultTransportError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * node-vault's HTTP transport (its `request-promise` option), on node:http with the process's shared agents
 * (keep-alive, the forward proxy). node-vault's own transport is axios, whose per-request work (config merging,
 * interceptors, follow-redirects streams) was the larger part of a Vault read's CPU in the benchmark's profile
 * of an idle cycle: one read cost 0.84 ms of CPU through axios and costs 0.33 ms here (README "Performance"). node-vault keeps the rest:
 * the API, request validation, response and error handling.
 */
export function vaultTransport(agents: OutboundAgents, timeoutMs: number) {
  const send = (options: VaultTransportRequest): Promise<VaultTransportResponse> =>
    new Promise((resolve, reject) => {
      const url = new URL(options.uri);
      const body =
        options.json !== undefined && typeof options.json === 'object'
          ? JSON.stringify(options.json)
          : undefined;
      const secure = url.protocol === 'https:';
      const headers: Record<string, string | number> = { accept: 'application/json', ...options.headers };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        { method: options.method, headers, agent: secure ? agents.https : agents.http },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', fail);
          response.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              statusCode: response.statusCode ?? 0,
              body: parseBody(text),
              request: { path: url.pathname },
            });
          });
        },
      );
      // The whole exchange, not only an idle socket: a Vault that trickles bytes still times out.
      const timer = setTimeout(
        () =>
          request.destroy(
            new VaultTransportError(`no answer from Vault within ${timeoutMs} ms`, 'ETIMEDOUT'),
          ),
        timeoutMs,
      );
      function fail(error: Error) {
        clearTimeout(timer);
        reject(error);
      }
      request.on('error', fail);
      request.end(body);
    });
  return { defaults: () => send };
}

/** JSON when it is JSON; otherwise the text (e.g. a proxy's HTML error page), which node-vault reports. */
function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
