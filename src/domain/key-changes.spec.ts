import { describe, expect, it } from 'vitest';
import { describeKeyChanges, keyChanges } from './key-changes.js';

describe('keyChanges and describeKeyChanges', () => {
  it.each([
    ['a new Secret', undefined, { b: 'Mg==', a: 'MQ==' }, 'added a, b'],
    ['a changed value', { a: 'MQ==', b: 'Mg==' }, { a: 'Mw==', b: 'Mg==' }, 'changed a'],
    ['a key dropped by the spec', { a: 'MQ==', b: 'Mg==' }, { a: 'MQ==' }, 'removed b'],
    [
      'all three at once',
      { keep: 'MQ==', old: 'Mg==', edit: 'Mw==' },
      { keep: 'MQ==', edit: 'NA==', fresh: 'NQ==' },
      'added fresh; changed edit; removed old',
    ],
    ['no key changed (labels only)', { a: 'MQ==' }, { a: 'MQ==' }, undefined],
    ['both empty', undefined, undefined, undefined],
  ])('%s: %s', (_, before, after, text) => {
    expect(describeKeyChanges(keyChanges(before, after))).toBe(text);
  });

  it('never carries a value', () => {
    const text = describeKeyChanges(keyChanges({ password: 'c2VjcmV0' }, { password: 'bmV3LXNlY3JldA==' }))!;
    expect(text).toBe('changed password');
    expect(text).not.toMatch(/c2VjcmV0|bmV3|secret/);
  });
});
