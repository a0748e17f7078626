import { describe, expect, it } from 'vitest';
import type { DesiredSecret } from '../domain/secret-manifest.js';
import { maskedValue, renderSecret, secretDiff } from './secret-view.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const secret = (data: Record<string, string>): DesiredSecret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'web', namespace: 'apps' },
  type: 'Opaque',
  data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, b64(value)])),
});

describe('what kes shows of a Secret', () => {
  it('masks a value as its size and digest', () => {
    // sha256("1234") = 03ac674216f3e15c…
    expect(maskedValue(b64('1234'))).toBe('<4 bytes, sha256 03ac674216f3>');
  });

  it('prints no value unless asked, in YAML or JSON', () => {
    const masked = renderSecret(secret({ password: '1234' }), { showValues: false, output: 'yaml' });
    expect(masked).toContain('password: <4 bytes, sha256 03ac674216f3>');
    expect(masked).not.toContain(b64('1234'));
    const shown = JSON.parse(
      renderSecret(secret({ password: '1234' }), { showValues: true, output: 'json' }),
    ) as DesiredSecret;
    expect(shown.data.password).toBe(b64('1234'));
  });

  it('lists added, changed and foreign keys, names and digests only', () => {
    const live = { data: { password: b64('old'), other: b64('tool'), same: b64('s') } };
    const lines = secretDiff(live, secret({ password: 'new', added: 'a', same: 's' }), { showValues: false });
    expect(lines).toEqual([
      `+ added ${maskedValue(b64('a'))}`,
      `~ password ${maskedValue(b64('old'))} → ${maskedValue(b64('new'))}`,
      `= other ${maskedValue(b64('tool'))} (not the controller's: kept)`,
    ]);
    expect(
      secretDiff(live, secret({ password: 'new', same: 's', other: 'tool' }), { showValues: true }),
    ).toEqual(['~ password "old" → "new"']);
  });
});
