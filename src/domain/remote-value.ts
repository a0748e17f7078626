import type { RemoteVersion } from './normalize-spec.js';

/** One read a backend is asked for: a key (optionally a pinned version) or, for SSM, a whole path. */
export type RemoteRequest =
  | { readonly kind: 'key'; readonly key: string; readonly version?: RemoteVersion }
  | { readonly kind: 'path'; readonly path: string; readonly recursive: boolean };

/** What a backend returns for one request. */
export type RemoteValue =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'bytes'; readonly bytes: Uint8Array }
  /** A structured secret, e.g. a Vault KV secret's data object. */
  | { readonly type: 'object'; readonly object: Readonly<Record<string, unknown>> }
  /** The parameters under an SSM path, named by their last path segment. */
  | { readonly type: 'entries'; readonly entries: ReadonlyArray<readonly [string, string]> };

/** Each request's key, made once: a plan's requests live as long as its object and are asked for every cycle. */
const requestKeys = new WeakMap<RemoteRequest, string>();

/** The key that identifies a request among the requests of one identity. */
export function requestKey(request: RemoteRequest): string {
  let key = requestKeys.get(request);
  if (key === undefined) {
    key = keyOf(request);
    requestKeys.set(request, key);
  }
  return key;
}

function keyOf(request: RemoteRequest): string {
  if (request.kind === 'path') return `path:${request.recursive ? 'r' : '-'}:${request.path}`;
  const version = request.version
    ? 'id' in request.version
      ? `id=${request.version.id}`
      : `stage=${request.version.stage}`
    : '';
  return `key:${version}:${request.key}`;
}

/**
 * Whether two answers to the same request carry the same bytes. Compared by content, not by a version id:
 * SSM parameter versions and Vault KV v2 versions start again at 1 when a key is deleted and created anew, so
 * an equal version number does not prove an equal value. The fetcher asks this once per key and cycle.
 */
export function sameRemoteValue(a: RemoteValue, b: RemoteValue): boolean {
  if (a === b) return true;
  switch (a.type) {
    case 'text':
      return b.type === 'text' && a.text === b.text;
    case 'bytes':
      return b.type === 'bytes' && Buffer.compare(a.bytes, b.bytes) === 0;
    case 'entries':
      return (
        b.type === 'entries' &&
        a.entries.length === b.entries.length &&
        a.entries.every(
          ([name, value], index) => name === b.entries[index]![0] && value === b.entries[index]![1],
        )
      );
    case 'object':
      return b.type === 'object' && JSON.stringify(a.object) === JSON.stringify(b.object);
  }
}

/** The remote key (or version of it) does not exist. */
export class RemoteKeyNotFoundError extends Error {
  override readonly name = 'RemoteKeyNotFoundError';
  constructor(
    readonly key: string,
    version?: RemoteVersion,
  ) {
    const which = version
      ? 'id' in version
        ? ` version ${version.id}`
        : ` version stage ${version.stage}`
      : '';
    super(`remote key ${key}${which} not found`);
  }
}
