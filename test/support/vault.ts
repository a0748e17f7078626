import { forEachLine, logMark } from './log-file.js';
import { killStackProcess, startStack } from './stack.js';

async function bao(method: string, path: string, body?: object): Promise<unknown> {
  const response = await fetch(`${process.env.VAULT_ADDR}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': process.env.BAO_ROOT_TOKEN! },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`OpenBao ${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

/** Writes a KV v2 secret at `secret/data/<path>`. */
export const writeKv2 = (path: string, data: object, mount = 'secret') =>
  bao('POST', `${mount}/data/${path}`, { data });
/** Writes a KV v1 secret at `kv1/<path>`. */
export const writeKv1 = (path: string, data: object) => bao('POST', `kv1/${path}`, data);

/**
 * Requests OpenBao's audit log has recorded for a path (counted at the backend, not by the controller),
 * leaving out those made with the root token (the stack's own set-up and the tests' writes); from byte `since`.
 */
export function auditedRequests(path: string | RegExp, since = 0): number {
  let count = 0;
  forEachLine(process.env.BAO_AUDIT_LOG!, since, (line) => {
    if (!line.includes('"type":"request"')) return;
    const entry = JSON.parse(line) as { auth?: { display_name?: string }; request?: { path?: string } };
    if (entry.auth?.display_name === 'root') return;
    const requestPath = entry.request?.path ?? '';
    if (typeof path === 'string' ? requestPath === path : path.test(requestPath)) count++;
  });
  return count;
}

/** The current end of OpenBao's audit log, for counting only the requests after it. */
export function vaultAuditMark(): number {
  return logMark(process.env.BAO_AUDIT_LOG!);
}

/** Audited requests of one path made with a token of one role (logins: the responses naming that role). */
export function auditedForRole(path: string, role: string): number {
  let count = 0;
  forEachLine(process.env.BAO_AUDIT_LOG!, 0, (line) => {
    const entry = JSON.parse(line) as {
      type?: string;
      auth?: { metadata?: { role?: string } };
      request?: { path?: string };
    };
    const isLogin = path.endsWith('/login');
    if (entry.type !== (isLogin ? 'response' : 'request')) return;
    if (entry.request?.path === path && entry.auth?.metadata?.role === role) count++;
  });
  return count;
}

/** Stops the OpenBao dev server (it keeps everything in memory: a restart loses all data and config). */
export const stopOpenBao = () => killStackProcess('bao');

/** Starts OpenBao again and re-bootstraps it (auth methods, mounts, policy, roles), as after a real outage. */
export const startOpenBao = () => startStack({ bootstrap: true });
