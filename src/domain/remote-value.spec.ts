import { describe, expect, it } from 'vitest';
import { sameRemoteValue, type RemoteValue } from './remote-value.js';

const text = (value: string): RemoteValue => ({ type: 'text', text: value });
const bytes = (...values: number[]): RemoteValue => ({ type: 'bytes', bytes: Uint8Array.from(values) });
const entries = (...pairs: Array<[string, string]>): RemoteValue => ({ type: 'entries', entries: pairs });
const object = (value: Record<string, unknown>): RemoteValue => ({ type: 'object', object: value });

describe('sameRemoteValue', () => {
  it.each<[string, RemoteValue, RemoteValue, boolean]>([
    ['equal text', text('s3cr3t'), text('s3cr3t'), true],
    ['changed text', text('s3cr3t'), text('s3cr3T'), false],
    ['empty text against empty bytes', text(''), bytes(), false],
    ['equal bytes', bytes(1, 2, 3), bytes(1, 2, 3), true],
    ['bytes of another length', bytes(1, 2, 3), bytes(1, 2), false],
    ['changed byte', bytes(1, 2, 3), bytes(1, 2, 4), false],
    ['equal path entries', entries(['a', '1'], ['b', '2']), entries(['a', '1'], ['b', '2']), true],
    ['a parameter added under the path', entries(['a', '1']), entries(['a', '1'], ['b', '2']), false],
    ['a parameter renamed', entries(['a', '1']), entries(['c', '1']), false],
    ['a parameter changed', entries(['a', '1']), entries(['a', '2']), false],
    ['equal KV data', object({ user: 'u', nested: { n: 1 } }), object({ user: 'u', nested: { n: 1 } }), true],
    ['changed nested KV value', object({ nested: { n: 1 } }), object({ nested: { n: 2 } }), false],
    ['KV data against text', object({ a: '1' }), text('{"a":"1"}'), false],
  ])('%s', (_, a, b, same) => {
    expect(sameRemoteValue(a, b)).toBe(same);
    expect(sameRemoteValue(b, a)).toBe(same);
  });

  it('takes bytes that are views into a larger buffer by their own range', () => {
    const pool = Uint8Array.from([9, 1, 2, 3, 9]);
    expect(sameRemoteValue({ type: 'bytes', bytes: pool.subarray(1, 4) }, bytes(1, 2, 3))).toBe(true);
  });
});
