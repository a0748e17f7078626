import { createHash } from 'node:crypto';
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { ExternalSecret } from './external-secret.js';
import type { DeletionPolicy, NormalizedSpec } from './normalize-spec.js';
import { renderTemplate, TemplateError } from './template.js';
import { CONTROLLER_NAME } from './controller-name.js';
import { isObject } from './is-object.js';

/** Label on every Secret this controller writes; the managed-Secret informer selects on it. */
export const MANAGED_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_LABEL_VALUE = CONTROLLER_NAME;

/**
 * On a Secret kept by `deletionPolicy: Retain` (which carries no owner reference): the name of its
 * ExternalSecret, in the same namespace. With the managed label it marks the Secret as managed; both are removed
 * when the ExternalSecret is deleted and the Secret stays.
 */
export const EXTERNAL_SECRET_ANNOTATION = 'kubernetes-client.io/external-secret';

/** Kubernetes refuses objects over 1 MiB; checked before writing so the error is ours and clear. */
export const MAX_SECRET_BYTES = 1024 * 1024;

export class SecretTooLargeError extends Error {
  override readonly name = 'SecretTooLargeError';
}

/** The Secret as this controller wants it: `data` is base64, as the API server returns it. */
export interface DesiredSecret extends V1Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: V1Secret['metadata'] & { name: string; namespace: string };
  type: string;
  data: Record<string, string>;
}

/** Deep merge where `override` wins; arrays and scalars are replaced, objects merged. */
function deepMerge(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    // defineProperty, not assignment: a "__proto__" key from JSON must stay data, not swap the prototype.
    Object.defineProperty(merged, key, {
      value: isObject(current) && isObject(value) ? deepMerge(current, value) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return merged;
}

/**
 * Builds the desired Secret: the template deep-merged under what the controller generates. The generated part
 * wins on name, namespace, owner reference, type and the fetched data keys; everything else of the template
 * (labels, annotations, extra data/stringData keys, other fields) survives.
 */
export function buildDesiredSecret(
  externalSecret: ExternalSecret,
  spec: NormalizedSpec,
  data: ReadonlyMap<string, Buffer>,
  deletionPolicy: DeletionPolicy = 'Delete',
): DesiredSecret {
  const decoded = new Map([...data].map(([name, bytes]) => [name, bytes.toString('utf8')]));
  const template = renderTemplate(spec.template, decoded);
  const { data: templateData, stringData: templateStringData, ...templateRest } = template;
  if (templateData !== undefined && !isObject(templateData))
    throw new TemplateError('template.data must be an object');
  if (templateStringData !== undefined && !isObject(templateStringData)) {
    throw new TemplateError('template.stringData must be an object');
  }

  const secretData: Record<string, string> = {};
  for (const [name, value] of Object.entries(templateData ?? {})) secretData[name] = String(value);
  for (const [name, value] of Object.entries(templateStringData ?? {})) {
    secretData[name] = Buffer.from(String(value), 'utf8').toString('base64');
  }
  for (const [name, bytes] of data) secretData[name] = bytes.toString('base64');

  const metadata = externalSecret.metadata;
  const owner: V1OwnerReference = {
    apiVersion: externalSecret.apiVersion ?? 'kubernetes-client.io/v1',
    kind: externalSecret.kind ?? 'ExternalSecret',
    name: metadata.name!,
    uid: metadata.uid!,
    controller: true,
  };
  const generated = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: metadata.name!,
      namespace: metadata.namespace!,
      labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE },
      // Retain: no owner reference for the garbage collector to follow; the annotation names the owner.
      ...(deletionPolicy === 'Retain'
        ? { annotations: { [EXTERNAL_SECRET_ANNOTATION]: metadata.name! } }
        : { ownerReferences: [owner] }),
    },
    type: spec.secretType,
    data: secretData,
  };
  const secret = deepMerge(templateRest, generated) as unknown as DesiredSecret;
  // Only the fields a Secret's metadata may be given; server-managed ones from a template are dropped.
  const { labels, annotations, name, namespace, ownerReferences } = secret.metadata;
  secret.metadata = { name, namespace, labels, annotations, ownerReferences };
  return secret;
}

/**
 * Secret types that make the cluster itself fill the Secret with a credential: the token controller writes a
 * non-expiring token of the ServiceAccount named in the annotation `kubernetes.io/service-account.name` into a
 * `kubernetes.io/service-account-token` Secret, and a `bootstrap.kubernetes.io/token` Secret in kube-system
 * lets nodes join. Written by this controller, whoever may create an ExternalSecret could mint them.
 */
export const TOKEN_SECRET_TYPES: ReadonlySet<string> = new Set([
  'kubernetes.io/service-account-token',
  'bootstrap.kubernetes.io/token',
]);

/** Why a Secret of this type is not written, or undefined when it may be. */
export function refusedSecretType(type: string, allowTokenSecretTypes: boolean): string | undefined {
  if (allowTokenSecretTypes || !TOKEN_SECRET_TYPES.has(type)) return undefined;
  return `Secret type ${type} is refused: the cluster would fill it with a credential of its own (ALLOW_TOKEN_SECRET_TYPES allows it)`;
}

/** Size as the API server counts it closely enough: the decoded data plus keys and metadata strings. */
export function assertSecretFits(secret: DesiredSecret): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(secret.data))
    bytes += name.length + Math.ceil((value.length * 3) / 4);
  for (const [name, value] of Object.entries({ ...secret.metadata.labels, ...secret.metadata.annotations })) {
    bytes += name.length + value.length;
  }
  if (bytes > MAX_SECRET_BYTES) {
    throw new SecretTooLargeError(
      `the Secret would hold ${bytes} bytes, over Kubernetes' limit of ${MAX_SECRET_BYTES} bytes (1 MiB)`,
    );
  }
}

/**
 * Whether the live Secret differs from the desired one in anything this controller owns. Labels, annotations
 * and data keys that other tools added are not a difference: they are kept.
 */
export function secretNeedsWrite(desired: DesiredSecret, live: V1Secret | undefined): boolean {
  if (!live) return true;
  if ((live.type || 'Opaque') !== desired.type) return true;
  if (desired.immutable !== undefined && desired.immutable !== (live.immutable === true)) return true;
  const liveData = live.data ?? {};
  if (Object.entries(desired.data).some(([name, value]) => !sameValue(liveData[name], value))) return true;
  const subsetDiffers = (
    wanted: Record<string, string> | undefined,
    actual: Record<string, string> | undefined,
  ) => Object.entries(wanted ?? {}).some(([name, value]) => actual?.[name] !== value);
  if (subsetDiffers(desired.metadata.labels, live.metadata?.labels)) return true;
  if (subsetDiffers(desired.metadata.annotations, live.metadata?.annotations)) return true;
  const owner = desired.metadata.ownerReferences?.[0];
  if (owner === undefined) return liveOwnerReference(live, desired.metadata.name) !== undefined;
  return !live.metadata?.ownerReferences?.some(
    (reference) => reference.uid === owner.uid && reference.controller,
  );
}

/** The controller owner reference of a live Secret to its ExternalSecret (by name: same namespace), if any. */
export function liveOwnerReference(live: V1Secret, externalSecretName: string): V1OwnerReference | undefined {
  return live.metadata?.ownerReferences?.find(
    (reference) =>
      reference.controller === true &&
      reference.kind === 'ExternalSecret' &&
      reference.name === externalSecretName,
  );
}

/**
 * Why the live Secret cannot be updated in place to the desired one, or undefined when it can: its `type` is
 * immutable in Kubernetes, and so is the data of a Secret marked `immutable: true`. Such a Secret is replaced
 * (deleted and created again).
 */
export function replacementReason(
  desired: DesiredSecret,
  live: V1Secret | undefined,
  specChanged = false,
): string | undefined {
  if (!live) return undefined;
  const liveType = live.type || 'Opaque';
  if (liveType !== desired.type)
    return `its type changes from ${liveType} to ${desired.type}, and a Secret's type is immutable`;
  if (live.immutable === true) {
    const liveData = live.data ?? {};
    const dataChanges = Object.entries(desired.data).some(
      ([name, value]) => !sameValue(liveData[name], value),
    );
    // A spec change applies the whole Secret, removing keys it no longer has: a data change too.
    const keysDropped = specChanged && Object.keys(liveData).some((name) => !(name in desired.data));
    if (dataChanges || keysDropped) return 'its data changes, and the Secret is immutable';
    if (desired.immutable !== true) return 'it is to be mutable again, and immutable cannot be turned off';
  }
  return undefined;
}

/**
 * Whether the live Secret is this ExternalSecret's: its controller owner reference (KES set one too) or the
 * managed-by label. Only such a Secret may be replaced; another one of the same name is never deleted.
 */
export function isManagedSecretOf(live: V1Secret, externalSecret: ExternalSecret): boolean {
  const owned = live.metadata?.ownerReferences?.some(
    (reference) => reference.controller === true && reference.uid === externalSecret.metadata.uid,
  );
  return owned === true || live.metadata?.labels?.[MANAGED_LABEL] === MANAGED_LABEL_VALUE;
}

/**
 * Whether a managed Secret is one that `deletionPolicy: Retain` keeps for an ExternalSecret that no longer
 * exists: it is to be released (its managed label and annotation removed), since nothing manages it any more.
 */
export function retainedSecretOwner(secret: V1Secret): string | undefined {
  if (secret.metadata?.labels?.[MANAGED_LABEL] !== MANAGED_LABEL_VALUE) return undefined;
  return secret.metadata.annotations?.[EXTERNAL_SECRET_ANNOTATION];
}

/**
 * A digest of what this controller writes into a Secret (type, data, its labels and annotations, immutable):
 * equal digests mean the same write. Remembered per object, it tells a repair of a changed Secret (the same
 * content again) from an update (new content).
 */
export function writtenDigest(desired: DesiredSecret): string {
  const sorted = (record: Record<string, string> | undefined) =>
    Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(
      JSON.stringify([
        desired.type,
        desired.immutable === true,
        sorted(desired.data),
        sorted(desired.metadata.labels),
        sorted(desired.metadata.annotations),
      ]),
    )
    .digest('base64');
}

/**
 * The informer cache keeps a data value longer than this as a SHA-256 digest: the controller only compares
 * cached values with the ones it would write, so a cluster of large Secrets (certificates, bundles) costs
 * the controller their metadata, not their contents. A digest (51 characters) is shorter than what it replaces.
 */
const DIGEST_VALUES_LONGER_THAN = 64;
// ':' is not in the base64 alphabet, so no real value can look like a digest.
const DIGEST_PREFIX = 'sha256:';

const digestOf = (base64: string) => DIGEST_PREFIX + createHash('sha256').update(base64).digest('base64');

/** Replaces the Secret's long data values by their digests, in place (for the informer cache). */
export function digestSecretData<T extends V1Secret>(secret: T): T {
  for (const [name, value] of Object.entries(secret.data ?? {})) {
    if (value.length > DIGEST_VALUES_LONGER_THAN) secret.data![name] = digestOf(value);
  }
  return secret;
}

/** Whether a live value (possibly a cached digest) is the desired base64 value. */
function sameValue(live: string | undefined, desired: string): boolean {
  if (live === desired) return true;
  return live?.startsWith(DIGEST_PREFIX) === true && live === digestOf(desired);
}
