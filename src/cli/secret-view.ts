import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { V1Secret } from '@kubernetes/client-node';
import { keyChanges } from '../domain/key-changes.js';
import type { DesiredSecret } from '../domain/secret-manifest.js';

/** A value as `kes` shows it without --show-values: its size and the start of its SHA-256, never its bytes. */
export function maskedValue(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  return `<${bytes.length} bytes, sha256 ${digest}>`;
}

/** The Secret as the controller would write it; data values masked unless the user asked to see them. */
export function renderSecret(
  secret: DesiredSecret,
  options: { showValues: boolean; output: 'yaml' | 'json' },
) {
  const data = Object.fromEntries(
    Object.entries(secret.data).map(([name, value]) => [
      name,
      options.showValues ? value : maskedValue(value),
    ]),
  );
  const shown = { ...secret, data };
  return options.output === 'json' ? `${JSON.stringify(shown, null, 2)}\n` : stringify(shown);
}

/** One line per key that applying the desired Secret would add (+), remove (-) or change (~). */
export function secretDiff(
  live: V1Secret | undefined,
  desired: DesiredSecret,
  options: { showValues: boolean },
): string[] {
  const before = live?.data ?? {};
  const show = (value: string) =>
    options.showValues ? JSON.stringify(Buffer.from(value, 'base64').toString('utf8')) : maskedValue(value);
  const changes = keyChanges(before, desired.data);
  return [
    ...changes.added.map((key) => `+ ${key} ${show(desired.data[key]!)}`),
    ...changes.changed.map((key) => `~ ${key} ${show(before[key]!)} → ${show(desired.data[key]!)}`),
    // Keys another field manager added stay (the controller's apply does not own them): named, not removed.
    ...changes.removed.map((key) => `= ${key} ${show(before[key]!)} (not the controller's: kept)`),
  ];
}
