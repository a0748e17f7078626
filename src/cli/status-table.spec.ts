import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from '../domain/external-secret.js';
import { formatStatusTable, shortAge, statusRows } from './status-table.js';

const now = new Date('2026-12-02T10:00:00Z');
const object = (
  name: string,
  ready?: 'True' | 'False',
  extra: Partial<ExternalSecret> = {},
): ExternalSecret => ({
  metadata: { name, namespace: 'apps', creationTimestamp: '2026-12-01T10:00:00Z' as unknown as Date },
  spec: { backendType: 'vault', refreshInterval: name === 'slow' ? '1h' : undefined },
  status: ready
    ? {
        lastSync: '2026-12-02T09:59:30Z',
        conditions: [
          {
            type: 'Ready',
            status: ready,
            reason: ready === 'True' ? 'Synced' : 'SyncFailed',
            message: ready === 'True' ? 'the Secret is in sync' : 'remote key a not found',
          },
        ],
      }
    : undefined,
  ...extra,
});

describe('kes status', () => {
  it.each([
    ['2026-12-02T09:59:20Z', '40s'],
    ['2026-12-02T09:48:00Z', '12m'],
    ['2026-12-02T05:00:00Z', '5h'],
    ['2026-11-29T10:00:00Z', '3d'],
    [undefined, '<unknown>'],
  ])('ages %s as %s', (from, age) => expect(shortAge(from, now)).toBe(age));

  it('lists the broken first, then the ones not synced yet, then by name', () => {
    const rows = statusRows(
      [object('b-ok', 'True'), object('slow', 'True'), object('new'), object('a-broken', 'False')],
      now,
    );
    expect(rows.map((row) => `${row.name} ${row.ready} ${row.reason}`)).toEqual([
      'a-broken False SyncFailed',
      'new Unknown NotSyncedYet',
      'b-ok True Synced',
      'slow True Synced',
    ]);
    expect(rows[3]).toMatchObject({ refresh: '1h', lastSync: '30s ago', age: '24h' });
  });

  it('prints a kubectl-like table, colours only when asked', () => {
    const rows = statusRows([object('b-ok', 'True'), object('a-broken', 'False')], now);
    const plain = formatStatusTable(rows, { color: false });
    expect(plain.split('\n')[0]).toMatch(
      /^NAMESPACE\s+NAME\s+BACKEND\s+READY\s+REASON\s+REFRESH\s+LAST SYNC\s+AGE\s+MESSAGE$/,
    );
    expect(plain.split('\n')[1]).toMatch(
      /^apps\s+a-broken\s+vault\s+False\s+SyncFailed\s+default\s+30s ago\s+24h\s+remote key a not found$/,
    );
    expect(plain).not.toContain('\u001b[');
    expect(formatStatusTable(rows, { color: true })).toContain('\u001b[31mFalse\u001b[39m');
  });
});
