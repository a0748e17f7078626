/** Which keys of a Secret a write added, changed and removed: names only, never values. */
export interface KeyChanges {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
}

type SecretData = Readonly<Record<string, string>> | undefined;

/** Compares a Secret's data before and after a write (base64 values, as the API server returns them). */
export function keyChanges(before: SecretData, after: SecretData): KeyChanges {
  const old = before ?? {};
  const now = after ?? {};
  const names = (keys: string[]) => keys.sort();
  return {
    added: names(Object.keys(now).filter((key) => !(key in old))),
    changed: names(Object.keys(now).filter((key) => key in old && old[key] !== now[key])),
    removed: names(Object.keys(old).filter((key) => !(key in now))),
  };
}

/** `added a, b; changed c; removed d`, or undefined when no key changed (e.g. only labels did). */
export function describeKeyChanges({ added, changed, removed }: KeyChanges): string | undefined {
  const parts = [
    ['added', added],
    ['changed', changed],
    ['removed', removed],
  ] as const;
  const text = parts
    .filter(([, keys]) => keys.length > 0)
    .map(([verb, keys]) => `${verb} ${keys.join(', ')}`)
    .join('; ');
  return text || undefined;
}
