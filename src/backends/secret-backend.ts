import type { BackendFieldSchema, NormalizedSpec } from '../domain/normalize-spec.js';
import type { RemoteRequest, RemoteValue } from '../domain/remote-value.js';

/**
 * Which credentials and endpoint a spec reads through. ExternalSecrets whose identities have the same
 * `cacheKey` share reads and cached values; the access policy has already allowed each of them to use it.
 */
export interface BackendIdentity {
  readonly cacheKey: string;
  /** Safe to show in logs, events and metrics: no credentials. */
  readonly description: string;
}

/**
 * A secret backend strategy. Mark an injectable implementation `@RegisterSecretBackend()` to serve a new
 * `backendType`.
 */
export interface SecretBackend<Identity extends BackendIdentity = BackendIdentity> {
  /** The `spec.backendType` this backend serves. */
  readonly backendType: string;
  /**
   * The largest number of requests one `fetchMany` call is given (1 when the backend cannot batch). The shared
   * fetcher splits the requests into calls of at most this many, so a backend states its batch size here once.
   */
  readonly batchSize: number;
  /**
   * Spec fields of this backend's own (e.g. `keyVaultName`), by name, with the OpenAPI schema fragment to add
   * to the CRD: `identityFor` finds them, type-checked, in `spec.backendFields`.
   */
  readonly specFields?: Readonly<Record<string, BackendFieldSchema>>;
  /** Whether a request can share a call with others (default: every request can). */
  canBatch?(request: RemoteRequest): boolean;
  identityFor(spec: NormalizedSpec, namespace: string): Identity;
  /**
   * Reads distinct requests through one identity: at most `batchSize` of them, or one that cannot be batched. The result maps each
   * request's `requestKey` to its value, or to the error of that request alone (e.g. `RemoteKeyNotFoundError`).
   * A rejection means every request failed (e.g. the backend is unreachable).
   */
  fetchMany(
    identity: Identity,
    requests: readonly RemoteRequest[],
  ): Promise<Map<string, RemoteValue | Error>>;
}
