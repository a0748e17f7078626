import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from './external-secret.js';
import { observe, syncTrigger } from './sync-trigger.js';

const es = (metadata: ExternalSecret['metadata']): ExternalSecret => ({
  metadata: { name: 'es', ...metadata },
});
const base = es({ generation: 1, labels: { app: 'a' }, annotations: { note: 'x' } });

describe('syncTrigger', () => {
  it.each<[string, ExternalSecret | undefined, ExternalSecret, ReturnType<typeof syncTrigger>]>([
    ['first sight', undefined, base, 'spec'],
    ['a new generation (spec change)', base, es({ ...base.metadata, generation: 2 }), 'spec'],
    [
      'a force-sync annotation',
      base,
      es({ ...base.metadata, annotations: { note: 'x', 'force-sync': '1733000000' } }),
      'metadata',
    ],
    ['a changed label', base, es({ ...base.metadata, labels: { app: 'b' } }), 'metadata'],
    ['a removed annotation', base, es({ ...base.metadata, annotations: {} }), 'metadata'],
    [
      'a status or managedFields-only update',
      base,
      es({
        ...base.metadata,
        resourceVersion: '99',
        managedFields: [{ manager: 'kubernetes-external-secrets' }],
      }),
      undefined,
    ],
    [
      'the same labels in another order',
      es({ generation: 1, labels: { a: '1', b: '2' } }),
      es({ generation: 1, labels: { b: '2', a: '1' } }),
      undefined,
    ],
    ['no labels and empty labels', es({ generation: 1 }), es({ generation: 1, labels: {} }), undefined],
  ])('%s → %s', (_, previous, current, trigger) => {
    expect(syncTrigger(previous && observe(previous), observe(current))).toBe(trigger);
  });
});
