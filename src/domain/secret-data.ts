import type { RemoteValue } from './remote-value.js';
import type { ValueSource } from './normalize-spec.js';
import { getProperty } from './property-path.js';

/** A value that cannot become Secret data (missing property, not JSON …); the message is safe to show. */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}

/**
 * Builds the Secret's `data` (raw bytes per key) from each source's remote value, in source order so that
 * later sources win on a name clash (KES: dataFrom, then dataFromWithOptions, then data).
 */
export function buildSecretData(
  sources: readonly ValueSource[],
  valueOf: (source: ValueSource) => RemoteValue,
): Map<string, Buffer> {
  const data = new Map<string, Buffer>();
  for (const source of sources) {
    const value = valueOf(source);
    switch (source.kind) {
      case 'item':
        data.set(source.name, itemBytes(source.key, value, source.property, source.isBinary));
        break;
      case 'spread':
        for (const [name, field] of Object.entries(asJsonObject(source.key, value, 'dataFrom'))) {
          data.set(name, encode(stringify(field), source.isBinary, source.key));
        }
        break;
      case 'path':
        if (value.type !== 'entries') throw new ValueError(`path ${source.path} did not return parameters`);
        for (const [name, text] of value.entries) data.set(name, encode(text, source.isBinary, source.path));
        break;
    }
  }
  return data;
}

function itemBytes(key: string, value: RemoteValue, property: string | undefined, isBinary: boolean): Buffer {
  if (property === undefined) {
    switch (value.type) {
      case 'bytes':
        return Buffer.from(value.bytes);
      case 'text':
        return encode(value.text, isBinary, key);
      case 'object':
        return encode(JSON.stringify(value.object), isBinary, key);
      case 'entries':
        throw new ValueError(`${key} is a path, not a key`);
    }
  }
  const field = getProperty(asJson(key, value, `property ${property}`), property);
  if (field === undefined || field === null)
    throw new ValueError(`Could not find property ${property} in ${key}`);
  return encode(stringify(field), isBinary, key);
}

function asJson(key: string, value: RemoteValue, neededBy: string): unknown {
  if (value.type === 'object') return value.object;
  if (value.type === 'entries') throw new ValueError(`${key} is a path, not a key`);
  const text = value.type === 'text' ? value.text : Buffer.from(value.bytes).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValueError(`the value of ${key} is not JSON, which ${neededBy} needs`);
  }
}

function asJsonObject(key: string, value: RemoteValue, neededBy: string): Record<string, unknown> {
  const parsed = asJson(key, value, neededBy);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValueError(`the value of ${key} is not a JSON object, which ${neededBy} needs`);
  }
  return parsed as Record<string, unknown>;
}

/** Strings as they are; objects and arrays as JSON text; numbers and booleans in their string form. */
function stringify(field: unknown): string {
  return typeof field === 'string' ? field : JSON.stringify(field);
}

/** `isBinary`: the text is already base64 of the bytes (KES stored it unchanged, not encoded twice). */
function encode(text: string, isBinary: boolean, key: string): Buffer {
  if (!isBinary) return Buffer.from(text, 'utf8');
  const compact = text.replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new ValueError(`the value of ${key} is marked isBinary but is not base64`);
  }
  return Buffer.from(compact, 'base64');
}
