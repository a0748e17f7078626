import { describe, expect, it } from 'vitest';
import { sameRemoteValue, type RemoteValue } from './remote-value.js';

describe('sameRemoteValue', () => {
  const text = (value: string): RemoteValue => ({ type: 'text', text: value });
  const bytes = (...value: number[]): RemoteValue => ({ type: 'bytes', bytes: Uint8Array.from(value) });
  const object = (value: Record<string, unknown>): RemoteValue => ({ type: 'object', object: value });
  const entries = (...value: Array<[string, string]>): RemoteValue => ({ type: 'entries', entries: value });
  it.each([
    [text('a'), text('a'), true],
    [text('a'), text('b'), false],
    [bytes(1, 2), bytes(1, 2), true],
    [bytes(1, 2), bytes(1, 3), false],
    [text('\u0001'), bytes(1), false],
    [object({ a: 1, b: { c: 'd' } }), object({ a: 1, b: { c: 'd' } }), true],
    [object({ a: 1 }), object({ a: 2 }), false],
    [entries(['a', '1'], ['b', '2']), entries(['a', '1'], ['b', '2']), true],
    [entries(['a', '1']), entries(['a', '1'], ['b', '2']), false],
    [entries(['a', '1']), entries(['a', '2']), false],
  ])('%j and %j: %s', (a, b, same) => expect(sameRemoteValue(a, b)).toBe(same));
});
