import { Inject, Injectable } from '@nestjs/common';
import { CONTROLLER_CONFIG } from '../../config/config.constants.js';
import type { ControllerConfig } from '../../config/controller-config.js';
import { ControllerMetrics } from '../../metrics/controller-metrics.service.js';
import { InvalidSpecError, type NormalizedSpec } from '../../domain/normalize-spec.js';
import { BackendError, toBackendError } from '../backend-errors.js';
import { OutboundHttp } from '../outbound-agents.service.js';
import { RegisterSecretBackend } from '../register-secret-backend.decorator.js';
import { type BackendIdentity, type SecretBackend } from '../secret-backend.js';
import {
  RemoteKeyNotFoundError,
  requestKey,
  type RemoteRequest,
  type RemoteValue,
} from '../../domain/remote-value.js';
import { VaultSession, vaultStatusOf } from './vault-session.js';
import { isObject } from '../../domain/is-object.js';

export interface VaultIdentity extends BackendIdentity {
  readonly mountPoint: string;
  readonly role: string;
  readonly kvVersion: 1 | 2;
}

/**
 * HashiCorp Vault (and OpenBao) through Kubernetes auth. `key` is the full logical path; the value is the KV
 * secret's data object (`.data.data` for KV v2, `.data` for v1). One session (token) per (mount, role).
 */
@RegisterSecretBackend()
@Injectable()
export class VaultBackend implements SecretBackend<VaultIdentity> {
  readonly backendType = 'vault';
  readonly batchSize = 1;
  private readonly sessions = new Map<string, VaultSession>();

  constructor(
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly metrics: ControllerMetrics,
    private readonly outbound: OutboundHttp,
  ) {}

  identityFor(spec: NormalizedSpec): VaultIdentity {
    const mountPoint = spec.vaultMountPoint ?? this.config.vault.defaultMountPoint;
    const role = spec.vaultRole ?? this.config.vault.defaultRole;
    if (!mountPoint)
      throw new InvalidSpecError('spec.vaultMountPoint is not set and DEFAULT_VAULT_MOUNT_POINT is empty');
    if (!role) throw new InvalidSpecError('spec.vaultRole is not set and DEFAULT_VAULT_ROLE is empty');
    return {
      mountPoint,
      role,
      kvVersion: spec.kvVersion,
      cacheKey: `vault|${mountPoint}|${role}|kv${spec.kvVersion}`,
      description: `Vault auth/${mountPoint} role ${role}`,
    };
  }

  async fetchMany(
    identity: VaultIdentity,
    requests: readonly RemoteRequest[],
  ): Promise<Map<string, RemoteValue | Error>> {
    const session = this.sessionFor(identity);
    const results = new Map<string, RemoteValue | Error>();
    // batchSize 1: the shared fetcher sends one path per call, a few at a time.
    for (const request of requests)
      results.set(requestKey(request), await this.readOne(session, identity, request));
    return results;
  }

  private async readOne(
    session: VaultSession,
    identity: VaultIdentity,
    request: RemoteRequest,
  ): Promise<RemoteValue | Error> {
    if (request.kind !== 'key')
      return new BackendError('Vault has no SSM-style paths; use data[].key', false);
    if (request.version)
      return new BackendError('versionStage and versionId apply to Secrets Manager only', false);
    const path = request.key;
    let response: { data?: Record<string, unknown> };
    try {
      response = (await session.read(path)) as { data?: Record<string, unknown> };
    } catch (error) {
      if (error instanceof BackendError) throw error;
      const status = vaultStatusOf(error);
      if (status === 404) return new RemoteKeyNotFoundError(path);
      if (status === 403)
        return new BackendError(`Vault denied reading ${path} (403 permission denied)`, false);
      throw toBackendError(error, `reading ${path} from Vault`);
    }
    return extractKvData(path, response, identity.kvVersion);
  }

  private sessionFor(identity: VaultIdentity): VaultSession {
    let session = this.sessions.get(identity.cacheKey);
    if (!session) {
      const address = this.config.vault.address;
      if (!address) throw new BackendError('VAULT_ADDR is not set', false);
      session = new VaultSession(
        {
          address,
          namespace: this.config.vault.namespace,
          mountPoint: identity.mountPoint,
          role: identity.role,
          serviceAccountTokenPath: this.config.vault.serviceAccountTokenPath,
          renewThresholdMs: this.config.vault.tokenRenewThresholdMs,
          staticToken: this.config.vault.token,
          agents: this.outbound,
        },
        this.metrics,
      );
      this.sessions.set(identity.cacheKey, session);
    }
    return session;
  }
}

/** The KV secret's data, with a clear message when the path and `kvVersion` do not agree. */
export function extractKvData(
  path: string,
  response: { data?: unknown },
  kvVersion: 1 | 2,
): RemoteValue | Error {
  const data = response.data;
  if (!isObject(data)) return new BackendError(`Vault returned no data for ${path}`, false);
  const looksLikeV2 = isObject(data.data) && isObject(data.metadata) && 'version' in data.metadata;
  if (kvVersion === 2) {
    if (!looksLikeV2) {
      return new BackendError(
        `${path} is not a KV v2 secret (no data.data); for a KV v1 mount set kvVersion: 1, for KV v2 use the <mount>/data/<path> form`,
        false,
      );
    }
    return { type: 'object', object: data.data as Record<string, unknown> };
  }
  if (looksLikeV2) {
    return new BackendError(`${path} is a KV v2 secret; set kvVersion: 2 (the default)`, false);
  }
  return { type: 'object', object: data };
}
