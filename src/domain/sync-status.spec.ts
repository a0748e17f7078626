import { describe, expect, it } from 'vitest';
import { isNewFailure, nextStatus } from './sync-status.js';

const now = new Date('2026-11-29T10:00:00.123Z');
const later = new Date('2026-11-29T10:05:00Z');

describe('nextStatus', () => {
  const synced = nextStatus(undefined, 3, { ok: true }, true, now)!;

  it('writes KES fields and a Ready condition', () => {
    expect(synced).toEqual({
      status: 'SUCCESS',
      lastSync: '2026-11-29T10:00:00Z',
      observedGeneration: 3,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Synced',
          message: 'the Secret is in sync',
          observedGeneration: 3,
          lastTransitionTime: '2026-11-29T10:00:00Z',
        },
      ],
    });
  });

  it('adds, keeps and changes the RolloutRestart condition beside Ready', () => {
    const restarted = {
      type: 'RolloutRestart',
      status: 'True' as const,
      reason: 'RolloutRestarted',
      message: 'restarted Deployment web at 2026-11-29T10:01:00Z (apps/db: changed password)',
    };
    const withRestart = nextStatus(synced, 3, { ok: true }, false, later, { rolloutRestart: restarted })!;
    expect(withRestart.conditions).toEqual([
      synced.conditions![0],
      { ...restarted, observedGeneration: 3, lastTransitionTime: '2026-11-29T10:05:00Z' },
    ]);
    // The same condition again, or none known (a restarted controller): nothing to write, and it stays.
    expect(
      nextStatus(withRestart, 3, { ok: true }, false, later, { rolloutRestart: restarted }),
    ).toBeUndefined();
    expect(nextStatus(withRestart, 3, { ok: true }, false, later)).toBeUndefined();
    expect(nextStatus(withRestart, 3, { ok: true }, true, later)!.conditions![1]).toEqual(
      withRestart.conditions![1],
    );
    const failed = { ...restarted, status: 'False' as const, reason: 'RolloutRestartFailed', message: 'x' };
    expect(
      nextStatus(withRestart, 3, { ok: true }, false, later, { rolloutRestart: failed })!.conditions![1],
    ).toMatchObject(failed);
  });

  it('answers a sync request once: a status write that echoes it, then nothing while it stays the same', () => {
    const answered = nextStatus(synced, 3, { ok: true }, false, later, { syncRequest: 'r1' })!;
    expect(answered).toMatchObject({ syncRequest: 'r1', lastSync: '2026-11-29T10:05:00Z' });
    expect(nextStatus(answered, 3, { ok: true }, false, later, { syncRequest: 'r1' })).toBeUndefined();
    expect(nextStatus(answered, 3, { ok: true }, true, later)?.syncRequest).toBe('r1');
    expect(nextStatus(answered, 3, { ok: true }, false, later, { syncRequest: 'r2' })?.syncRequest).toBe(
      'r2',
    );
  });

  it('writes nothing when nothing changed (no status write per poll)', () => {
    expect(nextStatus(synced, 3, { ok: true }, false, later)).toBeUndefined();
  });

  it('writes when the Secret was written, the generation moved, or the outcome changed', () => {
    expect(nextStatus(synced, 3, { ok: true }, true, later)?.lastSync).toBe('2026-11-29T10:05:00Z');
    expect(nextStatus(synced, 4, { ok: true }, false, later)?.observedGeneration).toBe(4);
    const failed = nextStatus(
      synced,
      3,
      { ok: false, reason: 'SyncFailed', message: 'remote key a not found' },
      false,
      later,
    )!;
    expect(failed.status).toBe('ERROR, remote key a not found');
    expect(failed.conditions![0]).toMatchObject({
      status: 'False',
      reason: 'SyncFailed',
      lastTransitionTime: '2026-11-29T10:05:00Z',
    });
  });

  it('keeps the transition time while the condition status stays', () => {
    const failed = nextStatus(synced, 3, { ok: false, reason: 'SyncFailed', message: 'a' }, false, later)!;
    const failedAgain = nextStatus(
      failed,
      3,
      { ok: false, reason: 'SyncFailed', message: 'b' },
      false,
      new Date('2026-11-29T11:00:00Z'),
    )!;
    expect(failedAgain.conditions![0]!.lastTransitionTime).toBe('2026-11-29T10:05:00Z');
  });
});

describe('isNewFailure', () => {
  const status = (text: string) => ({ status: text });
  it.each([
    { name: 'the first error', current: status('SUCCESS'), next: status('ERROR, a'), report: true },
    { name: 'an error on a fresh object', current: undefined, next: status('ERROR, a'), report: true },
    { name: 'another error', current: status('ERROR, a'), next: status('ERROR, b'), report: true },
    {
      name: 'the same error again (status unchanged)',
      current: status('ERROR, a'),
      next: undefined,
      report: false,
    },
    { name: 'the same text rewritten', current: status('ERROR, a'), next: status('ERROR, a'), report: false },
  ])('$name: $report', ({ current, next, report }) => {
    expect(isNewFailure(current, next)).toBe(report);
  });
});

describe('the Ready message names what the last write changed', () => {
  const first = nextStatus(undefined, 1, { ok: true }, true, now, { writeSummary: 'added password' })!;

  it.each([
    [
      'a write that changed keys',
      first,
      true,
      'changed password',
      'the Secret is in sync; last write: changed password',
    ],
    [
      'an idle sync after it (kept, so no status write)',
      first,
      false,
      undefined,
      'the Secret is in sync; last write: added password',
    ],
    [
      'a write that changed no key (labels only)',
      first,
      true,
      undefined,
      'the Secret is in sync; last write: added password',
    ],
  ])('%s', (_, current, written, summary, message) => {
    const next = nextStatus(current, 1, { ok: true }, written, later, { writeSummary: summary }) ?? current;
    expect(next.conditions![0]!.message).toBe(message);
  });

  it('writes nothing on an idle sync after a write', () => {
    expect(nextStatus(first, 1, { ok: true }, false, later)).toBeUndefined();
  });

  it('starts over after a failure', () => {
    const failed = nextStatus(first, 1, { ok: false, reason: 'SyncFailed', message: 'x' }, false, later)!;
    expect(nextStatus(failed, 1, { ok: true }, false, later)!.conditions![0]!.message).toBe(
      'the Secret is in sync',
    );
  });
});
