import type { BackendRegistry } from '../backends/backend-registry.service.js';
import type { BackendIdentity, SecretBackend } from '../backends/secret-backend.js';
import type { ControllerConfig } from '../config/controller-config.js';
import { accessDenialReason } from '../domain/access-policy.js';
import type { ExternalSecret } from '../domain/external-secret.js';
import {
  withBackendFields,
  type DeletionPolicy,
  type NormalizedSpec,
  type ValueSource,
} from '../domain/normalize-spec.js';
import { requestKey, type RemoteRequest, type RemoteValue } from '../domain/remote-value.js';
import { buildSecretData, ValueError } from '../domain/secret-data.js';
import {
  assertSecretFits,
  buildDesiredSecret,
  refusedSecretType,
  type DesiredSecret,
} from '../domain/secret-manifest.js';
import { EventReason } from '../kubernetes/event-recorder.service.js';
import { SyncFailure } from './sync-failure.js';

/** What an ExternalSecret reads, kept so that the refresh scheduler can prefetch a whole identity at once. */
export interface FetchPlan {
  readonly backend: SecretBackend;
  readonly identity: BackendIdentity;
  readonly requests: readonly RemoteRequest[];
}

function requestFor(source: ValueSource): RemoteRequest {
  return source.kind === 'path'
    ? { kind: 'path', path: source.path, recursive: source.recursive }
    : { kind: 'key', key: source.key, version: source.version };
}

/**
 * What a normalised ExternalSecret reads, and through which backend and identity, once the rules that come
 * before any read have passed: a backend that serves its type, the backend's own spec fields, a Secret type
 * that may be written, and the namespace's role and key-name policy. Shared by the controller and `kes`.
 */
export function planFetch(
  externalSecret: ExternalSecret,
  normalized: NormalizedSpec,
  context: {
    readonly backends: BackendRegistry;
    readonly config: ControllerConfig;
    readonly namespaceAnnotations: Record<string, string> | undefined;
  },
): FetchPlan {
  const backend = context.backends.find(normalized.backendType);
  if (!backend) {
    throw new SyncFailure(
      EventReason.InvalidSpec,
      `backendType ${normalized.backendType} is not served by this controller (it serves ${context.backends.types.join(', ')})`,
      false,
    );
  }
  const spec = withBackendFields(normalized, externalSecret, backend.specFields);
  const refusal = refusedSecretType(spec.secretType, context.config.allowTokenSecretTypes);
  if (refusal) throw new SyncFailure(EventReason.InvalidSpec, refusal, false);
  const { namespace, name } = externalSecret.metadata;
  const denial = accessDenialReason(spec, context.namespaceAnnotations, context.config);
  if (denial) {
    throw new SyncFailure(
      EventReason.AccessDenied,
      `not allowed to fetch secret: ${namespace}/${name}: ${denial}`,
      false,
    );
  }
  const requests = new Map(
    spec.sources.map((source) => [requestKey(requestFor(source)), requestFor(source)]),
  );
  return { backend, identity: backend.identityFor(spec, namespace!), requests: [...requests.values()] };
}

/** The Secret the fetched values make, as the controller writes it (checked against the 1 MiB limit). */
export function desiredSecretOf(
  externalSecret: ExternalSecret,
  spec: NormalizedSpec,
  values: ReadonlyMap<string, RemoteValue | Error>,
  deletionPolicy: DeletionPolicy,
): DesiredSecret {
  const data = buildSecretData(spec.sources, (source) => {
    const value = values.get(requestKey(requestFor(source)));
    if (value === undefined || value instanceof Error) throw value ?? new ValueError('no value');
    return value;
  });
  const desired = buildDesiredSecret(externalSecret, spec, data, deletionPolicy);
  assertSecretFits(desired);
  return desired;
}
