import { describe, expect, it } from 'vitest';
import type { RemoteValue } from './remote-value.js';
import type { ValueSource } from './normalize-spec.js';
import { buildSecretData, ValueError } from './secret-data.js';

const text = (value: string): RemoteValue => ({ type: 'text', text: value });
const credentials = text(
  JSON.stringify({ username: 'admin', password: '1234', port: 5432, tls: true, nested: { a: [1] } }),
);

function build(sources: ValueSource[], values: Record<string, RemoteValue>) {
  const data = buildSecretData(
    sources,
    (source) => values[source.kind === 'path' ? source.path : source.key]!,
  );
  return Object.fromEntries([...data].map(([name, bytes]) => [name, bytes.toString('utf8')]));
}

describe('buildSecretData', () => {
  it('takes a whole value, or a property of its JSON', () => {
    expect(
      build(
        [
          { kind: 'item', key: 'plain', name: 'a', isBinary: false },
          { kind: 'item', key: 'creds', name: 'user', property: 'username', isBinary: false },
          { kind: 'item', key: 'creds', name: 'port', property: 'port', isBinary: false },
          { kind: 'item', key: 'creds', name: 'tls', property: 'tls', isBinary: false },
          { kind: 'item', key: 'creds', name: 'nested', property: 'nested', isBinary: false },
        ],
        { plain: text('héllo'), creds: credentials },
      ),
    ).toEqual({ a: 'héllo', user: 'admin', port: '5432', tls: 'true', nested: '{"a":[1]}' });
  });

  it('spreads dataFrom objects; data wins over dataFrom on a clash', () => {
    expect(
      build(
        [
          { kind: 'spread', key: 'creds', isBinary: false },
          { kind: 'item', key: 'other', name: 'password', isBinary: false },
        ],
        { creds: credentials, other: text('override') },
      ),
    ).toMatchObject({ username: 'admin', password: 'override', port: '5432' });
  });

  it('stores isBinary values as the bytes their base64 stands for, and SecretBinary bytes as they are', () => {
    const data = buildSecretData(
      [
        { kind: 'item', key: 'b64', name: 'cert', isBinary: true },
        { kind: 'item', key: 'raw', name: 'blob', isBinary: false },
      ],
      (source) =>
        source.kind === 'item' && source.key === 'b64'
          ? text(Buffer.from([0, 255, 1]).toString('base64'))
          : { type: 'bytes', bytes: new Uint8Array([9, 8, 7]) },
    );
    expect([...data.get('cert')!]).toEqual([0, 255, 1]);
    expect([...data.get('blob')!]).toEqual([9, 8, 7]);
  });

  it('names SSM path parameters by their last segment', () => {
    expect(
      build([{ kind: 'path', path: '/app/', recursive: true, isBinary: false }], {
        '/app/': {
          type: 'entries',
          entries: [
            ['db', 'x'],
            ['api', 'y'],
          ],
        },
      }),
    ).toEqual({ db: 'x', api: 'y' });
  });

  it('reads Vault data objects directly', () => {
    expect(
      build([{ kind: 'item', key: 'secret/data/a', name: 'k', property: 'api-key', isBinary: false }], {
        'secret/data/a': { type: 'object', object: { 'api-key': 'v' } },
      }),
    ).toEqual({ k: 'v' });
  });

  it.each([
    [
      'a missing property',
      [{ kind: 'item', key: 'creds', name: 'x', property: 'nope', isBinary: false }],
      'Could not find property nope in creds',
    ],
    [
      'a property of a value that is not JSON',
      [{ kind: 'item', key: 'plain', name: 'x', property: 'a', isBinary: false }],
      'the value of plain is not JSON, which property a needs',
    ],
    [
      'dataFrom of a value that is not JSON',
      [{ kind: 'spread', key: 'plain', isBinary: false }],
      'the value of plain is not JSON, which dataFrom needs',
    ],
    [
      'dataFrom of a JSON array',
      [{ kind: 'spread', key: 'array', isBinary: false }],
      'the value of array is not a JSON object, which dataFrom needs',
    ],
    [
      'isBinary on a value that is not base64',
      [{ kind: 'item', key: 'plain', name: 'x', isBinary: true }],
      'the value of plain is marked isBinary but is not base64',
    ],
  ] as Array<[string, ValueSource[], string]>)('rejects %s', (_, sources, message) => {
    expect(() =>
      build(sources, { creds: credentials, plain: text('not json {'), array: text('[1,2]') }),
    ).toThrow(new ValueError(message));
  });
});
