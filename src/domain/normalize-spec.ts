import { parseDuration } from './duration.js';
import { isObject } from './is-object.js';
import type { ExternalSecret, RawExternalSecretSpec } from './external-secret.js';

/** What a Secret key comes from, in KES's precedence order (later sources win on a name clash). */
export type ValueSource =
  /** `data[]` with key and name: one remote value (optionally one property of it) into one Secret key. */
  | {
      readonly kind: 'item';
      readonly key: string;
      readonly name: string;
      readonly property?: string;
      readonly isBinary: boolean;
      readonly version?: RemoteVersion;
    }
  /** `dataFrom[]` and `dataFromWithOptions[]`: a remote JSON object spread into one Secret key per field. */
  | {
      readonly kind: 'spread';
      readonly key: string;
      readonly isBinary: boolean;
      readonly version?: RemoteVersion;
    }
  /** `data[]` with path (SSM): every parameter under the path, named by its last path segment. */
  | { readonly kind: 'path'; readonly path: string; readonly recursive: boolean; readonly isBinary: boolean };

export type RemoteVersion = { readonly stage: string } | { readonly id: string };

export const DELETION_POLICIES = ['Delete', 'Retain'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export const ROLLOUT_RESTART_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export interface RolloutRestartTarget {
  readonly kind: (typeof ROLLOUT_RESTART_KINDS)[number];
  readonly name: string;
}

/** An ExternalSecret's spec with the deprecated forms resolved and defaults applied. */
export interface NormalizedSpec {
  readonly backendType: string;
  readonly controllerId: string;
  readonly region?: string;
  readonly roleArn?: string;
  readonly vaultMountPoint?: string;
  readonly vaultRole?: string;
  readonly kvVersion: 1 | 2;
  /** `template.type`, else the deprecated `spec.type`, else Opaque. */
  readonly secretType: string;
  readonly template: Readonly<Record<string, unknown>>;
  readonly sources: readonly ValueSource[];
  /**
   * spec.refreshInterval in ms: 0 never refreshes periodically (only on create, spec change, force-sync and
   * drift); undefined means the controller's POLLER_INTERVAL_MILLISECONDS.
   */
  readonly refreshIntervalMs?: number;
  /** spec.deletionPolicy; undefined means the controller's DEFAULT_DELETION_POLICY. */
  readonly deletionPolicy?: DeletionPolicy;
  readonly rolloutRestartTargets: readonly RolloutRestartTarget[];
  /** The spec fields a backend declared as its own (`SecretBackend.specFields`), checked against their types. */
  readonly backendFields: Readonly<Record<string, unknown>>;
}

/**
 * A spec field an extension backend reads (e.g. `keyVaultName`), as the OpenAPI schema fragment that goes into
 * the CRD; `type` is also checked here, since a `secretDescriptor` is stored unvalidated.
 */
export interface BackendFieldSchema {
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  readonly description?: string;
  readonly [keyword: string]: unknown;
}

const matchesType = (value: unknown, type: BackendFieldSchema['type']): boolean => {
  switch (type) {
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    case 'integer':
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
};

/** The declared backend fields present in the spec, each of its declared type (else an InvalidSpecError). */
export function withBackendFields(
  spec: NormalizedSpec,
  externalSecret: ExternalSecret,
  declared: Readonly<Record<string, BackendFieldSchema>> | undefined,
): NormalizedSpec {
  if (!declared) return spec;
  const raw = (externalSecret.spec ?? externalSecret.secretDescriptor ?? {}) as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(declared)) {
    const value = raw[name];
    if (value === undefined) continue;
    if (!matchesType(value, schema.type))
      throw new InvalidSpecError(`spec.${name} must be of type ${schema.type} (backend ${spec.backendType})`);
    fields[name] = value;
  }
  return { ...spec, backendFields: fields };
}

/** A spec the controller cannot act on; the message goes to status and events as it is. */
export class InvalidSpecError extends Error {
  override readonly name = 'InvalidSpecError';
}

/** Deprecated backend names that KES accepted, mapped to the current ones. */
const BACKEND_ALIASES: Readonly<Record<string, string>> = { secretManager: 'secretsManager' };

function versionOf(
  item: { versionStage?: string; versionId?: string },
  where: string,
): RemoteVersion | undefined {
  if (item.versionStage !== undefined && item.versionId !== undefined) {
    throw new InvalidSpecError(`${where}: give versionStage or versionId, not both`);
  }
  if (item.versionId !== undefined) return { id: item.versionId };
  if (item.versionStage !== undefined) return { stage: item.versionStage };
  return undefined;
}

function requireText(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '')
    throw new InvalidSpecError(`${where} must be a non-empty string`);
  return value;
}

/**
 * Resolves KES's deprecated forms (`secretDescriptor`, `spec.type`, `backendType: secretManager`) and checks
 * what the CRD schema cannot check for them (a `secretDescriptor` is stored unvalidated).
 */
export function normalizeSpec(externalSecret: ExternalSecret): NormalizedSpec {
  const raw: RawExternalSecretSpec | undefined = externalSecret.spec ?? externalSecret.secretDescriptor;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidSpecError('the ExternalSecret has no spec');
  }
  for (const list of ['data', 'dataFrom', 'dataFromWithOptions'] as const) {
    if (raw[list] !== undefined && !Array.isArray(raw[list]))
      throw new InvalidSpecError(`spec.${list} must be a list`);
  }

  const backendType = requireText(raw.backendType, 'spec.backendType');
  const template = raw.template === undefined ? {} : raw.template;
  if (!isObject(template)) throw new InvalidSpecError('spec.template must be an object');
  const templateType = template.type;
  if (templateType !== undefined && typeof templateType !== 'string') {
    throw new InvalidSpecError('spec.template.type must be a string');
  }
  const kvVersion = raw.kvVersion ?? 2;
  if (kvVersion !== 1 && kvVersion !== 2) throw new InvalidSpecError('spec.kvVersion must be 1 or 2');

  const refreshIntervalMs = refreshIntervalOf(raw.refreshInterval);
  const deletionPolicy = raw.deletionPolicy;
  if (deletionPolicy !== undefined && !DELETION_POLICIES.includes(deletionPolicy as DeletionPolicy)) {
    throw new InvalidSpecError(`spec.deletionPolicy must be ${DELETION_POLICIES.join(' or ')}`);
  }

  const sources: ValueSource[] = [];
  for (const [index, key] of (raw.dataFrom ?? []).entries()) {
    sources.push({ kind: 'spread', key: requireText(key, `spec.dataFrom[${index}]`), isBinary: false });
  }
  for (const [index, item] of (raw.dataFromWithOptions ?? []).entries()) {
    const where = `spec.dataFromWithOptions[${index}]`;
    if (!isObject(item)) throw new InvalidSpecError(`${where} must be an object`);
    sources.push({
      kind: 'spread',
      key: requireText(item.key, `${where}.key`),
      isBinary: item.isBinary === true,
      version: versionOf(item, where),
    });
  }
  for (const [index, item] of (raw.data ?? []).entries()) {
    const where = `spec.data[${index}]`;
    if (!isObject(item)) throw new InvalidSpecError(`${where} must be an object`);
    if (item.path !== undefined) {
      if (item.key !== undefined)
        throw new InvalidSpecError(`${where}: give key and name, or path, not both`);
      sources.push({
        kind: 'path',
        path: requireText(item.path, `${where}.path`),
        recursive: item.recursive === true,
        isBinary: item.isBinary === true,
      });
      continue;
    }
    sources.push({
      kind: 'item',
      key: requireText(item.key, `${where}.key`),
      name: requireText(item.name, `${where}.name`),
      property: item.property === undefined ? undefined : requireText(item.property, `${where}.property`),
      isBinary: item.isBinary === true,
      version: versionOf(item, where),
    });
  }

  return {
    backendType: BACKEND_ALIASES[backendType] ?? backendType,
    controllerId: raw.controllerId ?? '',
    region: raw.region,
    roleArn: raw.roleArn,
    vaultMountPoint: raw.vaultMountPoint,
    vaultRole: raw.vaultRole,
    kvVersion,
    // An empty type is Opaque, as the API server stores it (else every sync would see a type change).
    secretType: templateType || raw.type || 'Opaque',
    template,
    sources,
    refreshIntervalMs,
    deletionPolicy: deletionPolicy as DeletionPolicy | undefined,
    rolloutRestartTargets: rolloutRestartTargetsOf(raw.rolloutRestartTargets),
    backendFields: {},
  };
}

/** Checked here too: a `secretDescriptor` is stored unvalidated. Duplicates are dropped (one restart each). */
function rolloutRestartTargetsOf(value: unknown): RolloutRestartTarget[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidSpecError('spec.rolloutRestartTargets must be a list');
  const targets = new Map<string, RolloutRestartTarget>();
  for (const [index, item] of value.entries()) {
    const where = `spec.rolloutRestartTargets[${index}]`;
    if (!isObject(item)) throw new InvalidSpecError(`${where} must be an object`);
    const kind = item.kind;
    if (!ROLLOUT_RESTART_KINDS.includes(kind as RolloutRestartTarget['kind'])) {
      throw new InvalidSpecError(`${where}.kind must be ${ROLLOUT_RESTART_KINDS.join(', ')}`);
    }
    const name = requireText(item.name, `${where}.name`);
    targets.set(`${kind as string}/${name}`, { kind: kind as RolloutRestartTarget['kind'], name });
  }
  return [...targets.values()];
}

/** The shortest refresh interval: below it the controller's own 200 ms scheduling tick and the backends' quotas decide. */
export const MIN_REFRESH_INTERVAL_MS = 1000;

function refreshIntervalOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : undefined;
  const ms = text === undefined ? undefined : parseDuration(text);
  if (ms === undefined) {
    throw new InvalidSpecError(
      `spec.refreshInterval ${JSON.stringify(value)} is not a duration (e.g. 30s, 15m, 1h30m; 0 never refreshes)`,
    );
  }
  if (ms > 0 && ms < MIN_REFRESH_INTERVAL_MS) {
    throw new InvalidSpecError(`spec.refreshInterval ${text} is below 1s (0 never refreshes)`);
  }
  return ms;
}
