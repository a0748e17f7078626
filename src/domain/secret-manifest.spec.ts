import type { V1ObjectMeta } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from './external-secret.js';
import { normalizeSpec } from './normalize-spec.js';
import {
  assertSecretFits,
  buildDesiredSecret,
  MANAGED_LABEL,
  digestSecretData,
  EXTERNAL_SECRET_ANNOTATION,
  isManagedSecretOf,
  retainedSecretOwner,
  refusedSecretType,
  replacementReason,
  secretNeedsWrite,
  SecretTooLargeError,
  writtenDigest,
} from './secret-manifest.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function externalSecret(spec: ExternalSecret['spec']): ExternalSecret {
  return {
    apiVersion: 'kubernetes-client.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'hello', namespace: 'team-a', uid: 'uid-1', generation: 1 },
    spec,
  };
}

function desiredFor(spec: ExternalSecret['spec'], data: Record<string, string>) {
  const resource = externalSecret(spec);
  return buildDesiredSecret(
    resource,
    normalizeSpec(resource),
    new Map(Object.entries(data).map(([name, value]) => [name, Buffer.from(value)])),
  );
}

describe('buildDesiredSecret', () => {
  it('merges the template under the generated Secret (KES semantics)', () => {
    const secret = desiredFor(
      {
        backendType: 'secretsManager',
        type: 'ignored-when-template-has-type',
        template: {
          type: 'kubernetes.io/basic-auth',
          metadata: { name: 'cannot-rename', labels: { dog: 'farfel' }, annotations: { cat: 'cheese' } },
          data: { extra: b64('from-template'), password: b64('loses') },
          stringData: { url: 'postgres://admin:<%= data.password %>@db' },
          immutable: false,
        },
      },
      { password: '1234' },
    );
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'hello',
        namespace: 'team-a',
        labels: { dog: 'farfel', [MANAGED_LABEL]: 'kubernetes-external-secrets' },
        annotations: { cat: 'cheese' },
        ownerReferences: [
          {
            apiVersion: 'kubernetes-client.io/v1',
            kind: 'ExternalSecret',
            name: 'hello',
            uid: 'uid-1',
            controller: true,
          },
        ],
      },
      type: 'kubernetes.io/basic-auth',
      immutable: false,
      data: { extra: b64('from-template'), url: b64('postgres://admin:1234@db'), password: b64('1234') },
    });
  });

  it('uses the deprecated spec.type, else Opaque', () => {
    expect(desiredFor({ backendType: 'secretsManager', type: 'kubernetes.io/tls' }, {}).type).toBe(
      'kubernetes.io/tls',
    );
    expect(desiredFor({ backendType: 'secretsManager' }, {}).type).toBe('Opaque');
  });
});

describe('assertSecretFits', () => {
  it('refuses a Secret over 1 MiB', () => {
    const big = desiredFor({ backendType: 'secretsManager' }, { a: 'x'.repeat(1024 * 1024) });
    expect(() => assertSecretFits(big)).toThrow(SecretTooLargeError);
    expect(() =>
      assertSecretFits(desiredFor({ backendType: 'secretsManager' }, { a: 'x'.repeat(1000) })),
    ).not.toThrow();
  });
});

describe('secretNeedsWrite', () => {
  const desired = desiredFor(
    { backendType: 'secretsManager', template: { metadata: { labels: { a: '1' } } } },
    { k: 'v' },
  );
  const live = () => structuredClone(desired);

  it('is true without a live Secret', () => expect(secretNeedsWrite(desired, undefined)).toBe(true));
  it('is false when everything owned is equal', () => expect(secretNeedsWrite(desired, live())).toBe(false));
  it('ignores labels, annotations and keys other tools added', () => {
    const other = live();
    other.metadata.labels!.foreign = 'x';
    other.metadata.annotations = { 'other.tool/checksum': 'y' };
    other.data.extra = b64('z');
    expect(secretNeedsWrite(desired, other)).toBe(false);
  });
  it.each([
    ['a changed value', (s: ReturnType<typeof live>) => (s.data.k = b64('changed'))],
    ['a missing key', (s: ReturnType<typeof live>) => delete s.data.k],
    ['a changed label', (s: ReturnType<typeof live>) => (s.metadata.labels!.a = '2')],
    ['a different type', (s: ReturnType<typeof live>) => (s.type = 'kubernetes.io/tls')],
    ['a missing owner reference', (s: ReturnType<typeof live>) => (s.metadata.ownerReferences = [])],
  ])('is true for %s', (_, change) => {
    const changed = live();
    change(changed);
    expect(secretNeedsWrite(desired, changed)).toBe(true);
  });
});

describe('deletionPolicy Retain', () => {
  const resource = externalSecret({ backendType: 'secretsManager' });
  const data = new Map([['k', Buffer.from('v')]]);
  const retained = buildDesiredSecret(resource, normalizeSpec(resource), data, 'Retain');
  const deleted = buildDesiredSecret(resource, normalizeSpec(resource), data, 'Delete');

  it('has no owner reference for the garbage collector; the label and an annotation name its owner', () => {
    expect(retained.metadata.ownerReferences).toBeUndefined();
    expect(retained.metadata.labels).toEqual({ [MANAGED_LABEL]: 'kubernetes-external-secrets' });
    expect(retained.metadata.annotations).toEqual({ [EXTERNAL_SECRET_ANNOTATION]: 'hello' });
    expect(deleted.metadata.ownerReferences).toHaveLength(1);
    expect(deleted.metadata.annotations).toBeUndefined();
    expect(isManagedSecretOf(structuredClone(retained), resource)).toBe(true);
  });

  it.each([
    ['a Retain Secret that still has the owner reference', retained, deleted, true],
    ['a Retain Secret without it', retained, retained, false],
    ['a Delete Secret still without it', deleted, retained, true],
    ['a Delete Secret with it', deleted, deleted, false],
  ])('needs a write for %s: %s', (_, desired, live, expected) => {
    expect(secretNeedsWrite(desired, structuredClone(live))).toBe(expected);
  });

  it.each([
    ['a retained Secret', retained, 'hello'],
    ['an owned Secret', deleted, undefined],
    [
      'an annotated Secret without the managed label (released)',
      { ...retained, metadata: { ...retained.metadata, labels: {} } },
      undefined,
    ],
  ])('retainedSecretOwner of %s', (_, secret, owner) => {
    expect(retainedSecretOwner(secret)).toBe(owner);
  });
});

describe('replacementReason (what Kubernetes will not change in place)', () => {
  const opaque = desiredFor({ backendType: 'secretsManager' }, { k: 'v' });
  const frozen = desiredFor({ backendType: 'secretsManager', template: { immutable: true } }, { k: 'v' });
  const tls = desiredFor(
    { backendType: 'secretsManager', template: { type: 'kubernetes.io/tls' } },
    { k: 'v' },
  );
  const live = (from: typeof opaque, change: (secret: typeof opaque) => void = () => undefined) => {
    const copy = structuredClone(from);
    change(copy);
    return copy;
  };
  it.each([
    { name: 'no live Secret', desired: opaque, live: undefined, reason: undefined },
    {
      name: 'nothing immutable changes',
      desired: opaque,
      live: live(opaque, (s) => (s.data.k = b64('new'))),
      reason: undefined,
    },
    {
      name: 'the type changes',
      desired: tls,
      live: live(opaque),
      reason: "its type changes from Opaque to kubernetes.io/tls, and a Secret's type is immutable",
    },
    {
      name: 'a live Secret without a type is Opaque',
      desired: opaque,
      live: live(opaque, (s) => delete (s as { type?: string }).type),
      reason: undefined,
    },
    {
      name: 'the data of an immutable Secret changes',
      desired: frozen,
      live: live(frozen, (s) => (s.data.k = b64('old'))),
      reason: 'its data changes, and the Secret is immutable',
    },
    {
      name: 'an immutable Secret with the same data',
      desired: frozen,
      live: live(frozen),
      reason: undefined,
    },
    {
      name: 'a Secret turned immutable',
      desired: frozen,
      live: live(opaque),
      reason: undefined,
    },
    {
      name: 'an immutable Secret whose template no longer says immutable',
      desired: opaque,
      live: live(frozen),
      reason: 'it is to be mutable again, and immutable cannot be turned off',
    },
    {
      name: 'an immutable Secret losing a key in a spec change',
      desired: frozen,
      live: live(frozen, (s) => (s.data.old = b64('x'))),
      specChanged: true,
      reason: 'its data changes, and the Secret is immutable',
    },
    {
      name: 'an immutable Secret with a key of another tool, no spec change',
      desired: frozen,
      live: live(frozen, (s) => (s.data.old = b64('x'))),
      reason: undefined,
    },
    {
      name: 'an empty live type is Opaque',
      desired: opaque,
      live: live(opaque, (s) => (s.type = '')),
      reason: undefined,
    },
  ])('$name', ({ desired, live: current, reason, ...rest }) => {
    const specChanged = 'specChanged' in rest ? rest.specChanged : false;
    expect(replacementReason(desired, current, specChanged)).toBe(reason);
  });
});

describe('isManagedSecretOf', () => {
  const resource = externalSecret({ backendType: 'secretsManager' });
  it.each<{ name: string; metadata: V1ObjectMeta; managed: boolean }>([
    {
      name: 'our controller owner reference',
      metadata: {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ExternalSecret', name: 'hello', uid: 'uid-1', controller: true },
        ],
      },
      managed: true,
    },
    {
      name: 'the managed-by label',
      metadata: { labels: { [MANAGED_LABEL]: 'kubernetes-external-secrets' } },
      managed: true,
    },
    {
      name: 'another owner',
      metadata: {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ExternalSecret', name: 'hello', uid: 'uid-2', controller: true },
        ],
      },
      managed: false,
    },
    {
      name: 'our uid, not as controller',
      metadata: {
        ownerReferences: [{ apiVersion: 'v1', kind: 'ExternalSecret', name: 'hello', uid: 'uid-1' }],
      },
      managed: false,
    },
    { name: 'an unrelated Secret of the same name', metadata: { labels: { app: 'db' } }, managed: false },
  ])('$name: $managed', ({ metadata, managed }) => {
    expect(isManagedSecretOf({ metadata: { name: 'hello', ...metadata } }, resource)).toBe(managed);
  });
});

describe('refusedSecretType', () => {
  it.each([
    { type: 'Opaque', allowed: false, refused: false },
    { type: 'kubernetes.io/tls', allowed: false, refused: false },
    { type: 'kubernetes.io/dockerconfigjson', allowed: false, refused: false },
    { type: 'kubernetes.io/service-account-token', allowed: false, refused: true },
    { type: 'bootstrap.kubernetes.io/token', allowed: false, refused: true },
    { type: 'kubernetes.io/service-account-token', allowed: true, refused: false },
    { type: 'bootstrap.kubernetes.io/token', allowed: true, refused: false },
  ])('$type with ALLOW_TOKEN_SECRET_TYPES=$allowed: refused $refused', ({ type, allowed, refused }) => {
    const reason = refusedSecretType(type, allowed);
    expect(reason !== undefined).toBe(refused);
    if (reason) expect(reason).toContain(type);
  });
});

describe('buildDesiredSecret: what a template cannot override', () => {
  it('keeps name, namespace, owner reference and the managed-by label whatever the template says', () => {
    const desired = desiredFor(
      {
        backendType: 'secretsManager',
        template: {
          metadata: {
            name: 'elsewhere',
            namespace: 'kube-system',
            labels: { [MANAGED_LABEL]: 'someone-else', team: 'a' },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'team-a', uid: 'x' }],
            finalizers: ['block-deletion'],
          },
        },
      },
      { k: 'v' },
    );
    expect(desired.metadata).toMatchObject({ name: 'hello', namespace: 'team-a' });
    expect(desired.metadata.labels).toEqual({ [MANAGED_LABEL]: 'kubernetes-external-secrets', team: 'a' });
    expect(desired.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ExternalSecret', name: 'hello', uid: 'uid-1', controller: true }),
    ]);
    expect(desired.metadata).not.toHaveProperty('finalizers');
  });
});

describe('writtenDigest', () => {
  const base = desiredFor(
    { backendType: 'secretsManager', template: { metadata: { labels: { a: '1' } } } },
    { k: 'v', j: 'w' },
  );
  it('is the same for the same content in another key order, and differs for any owned change', () => {
    const reordered = structuredClone(base);
    reordered.data = { j: base.data.j!, k: base.data.k! };
    expect(writtenDigest(reordered)).toBe(writtenDigest(base));
    const changes: Array<(secret: typeof base) => void> = [
      (secret) => (secret.data.k = b64('other')),
      (secret) => (secret.metadata.labels!.a = '2'),
      (secret) => (secret.metadata.annotations = { n: 'x' }),
      (secret) => (secret.type = 'kubernetes.io/tls'),
      (secret) => (secret.immutable = true),
    ];
    for (const change of changes) {
      const changed = structuredClone(base);
      change(changed);
      expect(writtenDigest(changed)).not.toBe(writtenDigest(base));
    }
  });
});

describe('digestSecretData (the informer cache keeps long values as digests)', () => {
  const certificate = '-----BEGIN CERTIFICATE-----\n' + 'MIIB'.repeat(200) + '\n-----END CERTIFICATE-----';
  const desired = desiredFor({ backendType: 'secretsManager' }, { 'tls.crt': certificate, short: 'v' });
  const cached = () => digestSecretData(structuredClone(desired));

  it('replaces long values by a shorter digest and keeps short ones', () => {
    const secret = cached();
    expect(secret.data['tls.crt']).toMatch(/^sha256:[A-Za-z0-9+/]{43}=$/);
    expect(secret.data['tls.crt']!.length).toBeLessThan(desired.data['tls.crt']!.length);
    expect(secret.data.short).toBe(b64('v'));
  });

  it('compares equal to the value it was made from, and differs from any other', () => {
    expect(secretNeedsWrite(desired, cached())).toBe(false);
    const rotated = desiredFor(
      { backendType: 'secretsManager' },
      { 'tls.crt': certificate.replace('MIIB', 'MIIC'), short: 'v' },
    );
    expect(secretNeedsWrite(rotated, cached())).toBe(true);
  });

  it('never takes a real base64 value for a digest', () => {
    const lookalike = desiredFor({ backendType: 'secretsManager' }, { short: 'v' });
    const live = structuredClone(lookalike);
    live.data.short = 'sha256:' + b64('v');
    expect(secretNeedsWrite(lookalike, live)).toBe(true);
  });
});
