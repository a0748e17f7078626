/**
 * Looks up a lodash-`get` style path (`a.b`, `a[0].b`, `a["x.y"]`) in a parsed JSON value. Like KES, a
 * literal key that contains dots matches first. Only own properties are read, so `__proto__` or
 * `constructor.prototype` find nothing instead of reaching into prototypes.
 */
export function getProperty(value: unknown, path: string): unknown {
  if (isRecord(value) && Object.hasOwn(value, path)) return value[path];
  let current: unknown = value;
  for (const segment of parsePath(path)) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) {
      current = current[Number(segment)];
    } else if (isRecord(current) && Object.hasOwn(current, segment)) {
      current = current[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsePath(path: string): string[] {
  const segments: string[] = [];
  const pattern = /([^.[\]]+)|\[(?:(\d+)|"([^"]*)"|'([^']*)')\]/g;
  for (const match of path.matchAll(pattern)) {
    segments.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? '');
  }
  return segments;
}
