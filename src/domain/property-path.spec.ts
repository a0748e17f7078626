import { describe, expect, it } from 'vitest';
import { getProperty } from './property-path.js';

describe('getProperty', () => {
  const value = {
    password: 'p',
    nested: { user: { name: 'admin' }, list: [{ id: 'first' }, { id: 'second' }] },
    'dotted.key': 'literal',
    'a-b': { c: 1 },
  };

  it.each([
    ['password', 'p'],
    ['nested.user.name', 'admin'],
    ['nested.list[1].id', 'second'],
    ['nested.list.0.id', 'first'],
    ['dotted.key', 'literal'],
    ['["a-b"].c', 1],
    ['nested.user', { name: 'admin' }],
    ['missing', undefined],
    ['nested.missing.deeper', undefined],
    ['__proto__', undefined],
    ['constructor.prototype', undefined],
    ['password.length', undefined],
    ['toString', undefined],
  ])('%s → %j', (path, expected) => {
    expect(getProperty(value, path)).toEqual(expected);
  });
});
