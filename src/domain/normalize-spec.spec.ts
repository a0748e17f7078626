import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from './external-secret.js';
import {
  InvalidSpecError,
  normalizeSpec,
  withBackendFields,
  type BackendFieldSchema,
} from './normalize-spec.js';

const es = (fields: Partial<ExternalSecret>): ExternalSecret => ({ metadata: { name: 'es' }, ...fields });

describe('normalizeSpec', () => {
  it('orders sources as KES: dataFrom, then dataFromWithOptions, then data', () => {
    const spec = normalizeSpec(
      es({
        spec: {
          backendType: 'secretsManager',
          data: [
            { key: 'k', name: 'n', property: 'p', versionStage: 'AWSPREVIOUS' },
            { path: '/p/', recursive: true },
          ],
          dataFrom: ['all'],
          dataFromWithOptions: [{ key: 'opts', isBinary: true, versionId: 'v1' }],
        },
      }),
    );
    expect(spec.sources).toEqual([
      { kind: 'spread', key: 'all', isBinary: false },
      { kind: 'spread', key: 'opts', isBinary: true, version: { id: 'v1' } },
      {
        kind: 'item',
        key: 'k',
        name: 'n',
        property: 'p',
        isBinary: false,
        version: { stage: 'AWSPREVIOUS' },
      },
      { kind: 'path', path: '/p/', recursive: true, isBinary: false },
    ]);
    expect(spec.kvVersion).toBe(2);
    expect(spec.secretType).toBe('Opaque');
    expect(spec.controllerId).toBe('');
  });

  it('honours the deprecated forms', () => {
    const spec = normalizeSpec(
      es({
        secretDescriptor: {
          backendType: 'secretManager',
          type: 'kubernetes.io/tls',
          data: [{ key: 'k', name: 'n' }],
        },
      }),
    );
    expect(spec.backendType).toBe('secretsManager');
    expect(spec.secretType).toBe('kubernetes.io/tls');
  });

  it('prefers template.type over spec.type', () => {
    const spec = normalizeSpec(
      es({
        spec: {
          backendType: 'vault',
          type: 'old',
          template: { type: 'kubernetes.io/basic-auth' },
          kvVersion: 1,
        },
      }),
    );
    expect(spec.secretType).toBe('kubernetes.io/basic-auth');
    expect(spec.kvVersion).toBe(1);
  });

  it.each([
    ['no spec', es({}), 'the ExternalSecret has no spec'],
    ['no backendType', es({ secretDescriptor: {} }), 'spec.backendType must be a non-empty string'],
    [
      'an item without name (unvalidated secretDescriptor)',
      es({ secretDescriptor: { backendType: 'secretsManager', data: [{ key: 'k' }] } }),
      'spec.data[0].name must be a non-empty string',
    ],
    [
      'both version fields',
      es({
        secretDescriptor: {
          backendType: 'secretsManager',
          data: [{ key: 'k', name: 'n', versionId: 'a', versionStage: 'b' }],
        },
      }),
      'spec.data[0]: give versionStage or versionId, not both',
    ],
    [
      'data that is not a list',
      es({ secretDescriptor: { backendType: 'secretsManager', data: 'nope' as never } }),
      'spec.data must be a list',
    ],
    [
      'a kvVersion of 3',
      es({ secretDescriptor: { backendType: 'vault', kvVersion: 3 } }),
      'spec.kvVersion must be 1 or 2',
    ],
    [
      'a refreshInterval that is not a duration (unvalidated secretDescriptor)',
      es({ secretDescriptor: { backendType: 'vault', refreshInterval: '1d' } }),
      'spec.refreshInterval "1d" is not a duration (e.g. 30s, 15m, 1h30m; 0 never refreshes)',
    ],
    [
      'a refreshInterval that is a number',
      es({ secretDescriptor: { backendType: 'vault', refreshInterval: 30 as never } }),
      'spec.refreshInterval 30 is not a duration (e.g. 30s, 15m, 1h30m; 0 never refreshes)',
    ],
    [
      'a refreshInterval below one second',
      es({ spec: { backendType: 'vault', refreshInterval: '200ms' } }),
      'spec.refreshInterval 200ms is below 1s (0 never refreshes)',
    ],
    [
      'an unknown deletionPolicy (unvalidated secretDescriptor)',
      es({ secretDescriptor: { backendType: 'vault', deletionPolicy: 'Orphan' } }),
      'spec.deletionPolicy must be Delete or Retain',
    ],
    [
      'rolloutRestartTargets that is not a list',
      es({ secretDescriptor: { backendType: 'vault', rolloutRestartTargets: {} as never } }),
      'spec.rolloutRestartTargets must be a list',
    ],
    [
      'a rollout restart target of another kind',
      es({ secretDescriptor: { backendType: 'vault', rolloutRestartTargets: [{ kind: 'Pod', name: 'x' }] } }),
      'spec.rolloutRestartTargets[0].kind must be Deployment, StatefulSet, DaemonSet',
    ],
    [
      'a rollout restart target without a name',
      es({ secretDescriptor: { backendType: 'vault', rolloutRestartTargets: [{ kind: 'Deployment' }] } }),
      'spec.rolloutRestartTargets[0].name must be a non-empty string',
    ],
  ])('rejects %s', (_, externalSecret, message) => {
    expect(() => normalizeSpec(externalSecret)).toThrow(new InvalidSpecError(message));
  });

  it.each([
    [undefined, undefined],
    ['0', 0],
    ['1s', 1000],
    ['1h30m', 5_400_000],
  ])('reads refreshInterval %j as %j ms (undefined: the controller’s interval)', (refreshInterval, ms) => {
    expect(normalizeSpec(es({ spec: { backendType: 'vault', refreshInterval } })).refreshIntervalMs).toBe(ms);
  });
});

describe('deletionPolicy and rolloutRestartTargets', () => {
  it('leaves the deletion policy to the controller when unset, and drops duplicate targets', () => {
    const unset = normalizeSpec(es({ spec: { backendType: 'vault' } }));
    expect(unset.deletionPolicy).toBeUndefined();
    expect(unset.rolloutRestartTargets).toEqual([]);
    const spec = normalizeSpec(
      es({
        spec: {
          backendType: 'vault',
          deletionPolicy: 'Retain',
          rolloutRestartTargets: [
            { kind: 'Deployment', name: 'web' },
            { kind: 'StatefulSet', name: 'web' },
            { kind: 'Deployment', name: 'web' },
          ],
        },
      }),
    );
    expect(spec.deletionPolicy).toBe('Retain');
    expect(spec.rolloutRestartTargets).toEqual([
      { kind: 'Deployment', name: 'web' },
      { kind: 'StatefulSet', name: 'web' },
    ]);
  });
});

describe('withBackendFields', () => {
  const declared: Record<string, BackendFieldSchema> = {
    vaultName: { type: 'string' },
    replicas: { type: 'integer' },
    tags: { type: 'array' },
    options: { type: 'object' },
    strict: { type: 'boolean' },
  };
  const fieldsOf = (spec: Record<string, unknown>) => {
    const resource = es({ spec: { backendType: 'team', ...spec } });
    return withBackendFields(normalizeSpec(resource), resource, declared).backendFields;
  };
  it.each([
    { name: 'none given', spec: {}, fields: {} },
    {
      name: 'each of its type',
      spec: { vaultName: 'v', replicas: 2, tags: ['a'], options: { a: 1 }, strict: true },
      fields: { vaultName: 'v', replicas: 2, tags: ['a'], options: { a: 1 }, strict: true },
    },
    {
      name: 'undeclared fields are not passed',
      spec: { vaultName: 'v', other: 'x' },
      fields: { vaultName: 'v' },
    },
  ])('$name', ({ spec, fields }) => {
    expect(fieldsOf(spec)).toEqual(fields);
  });
  it.each([
    { spec: { vaultName: 1 }, message: 'spec.vaultName must be of type string (backend team)' },
    { spec: { replicas: 1.5 }, message: 'spec.replicas must be of type integer (backend team)' },
    { spec: { tags: {} }, message: 'spec.tags must be of type array (backend team)' },
    { spec: { options: [] }, message: 'spec.options must be of type object (backend team)' },
  ])('refuses $spec', ({ spec, message }) => {
    expect(() => fieldsOf(spec)).toThrow(new InvalidSpecError(message));
  });
});

describe('secret type', () => {
  it.each([
    { name: 'none', spec: {}, type: 'Opaque' },
    { name: 'empty template type', spec: { template: { type: '' } }, type: 'Opaque' },
    { name: 'empty deprecated type', spec: { type: '' }, type: 'Opaque' },
    { name: 'template type', spec: { template: { type: 'kubernetes.io/tls' } }, type: 'kubernetes.io/tls' },
    { name: 'deprecated type', spec: { type: 'kubernetes.io/tls' }, type: 'kubernetes.io/tls' },
  ])('$name: $type', ({ spec, type }) => {
    expect(normalizeSpec(es({ spec: { backendType: 'vault', ...spec } })).secretType).toBe(type);
  });
});
