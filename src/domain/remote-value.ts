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

/** The key that identifies a request among the requests of one identity. */
export function requestKey(request: RemoteRequest): string {
  if (request.kind === 'path') return `path:${request.recursive ? 'r' : '-'}:${request.path}`;
  const version = request.version
    ? 'id' in request.version
      ? `id=${request.version.id}`
      : `stage=${request.version.stage}`
    : '';
  return `key:${version}:${request.key}`;
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
