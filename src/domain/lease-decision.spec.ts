import { describe, expect, it } from 'vitest';
import { decideLeaseStep, type LeaseSpecView } from './lease-decision.js';

const me = 'replica-a';
const other = 'replica-b';
const lease = (spec: LeaseSpecView): LeaseSpecView => ({
  leaseDurationSeconds: 15,
  renewTime: 't1',
  ...spec,
});
const recordOf = (spec: LeaseSpecView) =>
  JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);

describe('decideLeaseStep', () => {
  const held = lease({ holderIdentity: other, leaseTransitions: 2 });
  it.each([
    {
      name: 'no Lease: create it',
      current: undefined,
      observedAt: undefined,
      now: 0,
      step: 'create',
      transitions: 0,
    },
    {
      name: 'ours: renew',
      current: lease({ holderIdentity: me, leaseTransitions: 1 }),
      observedAt: undefined,
      now: 0,
      step: 'renew',
      transitions: 1,
    },
    {
      name: 'free (released): acquire without a transition',
      current: lease({ holderIdentity: undefined }),
      observedAt: undefined,
      now: 0,
      step: 'acquire',
      transitions: 0,
    },
    {
      name: "another's, first seen now: stand by",
      current: held,
      observedAt: undefined,
      now: 100_000,
      step: 'standby',
      transitions: 2,
    },
    {
      name: "another's, unchanged for less than the duration",
      current: held,
      observedAt: 100_000,
      now: 114_000,
      step: 'standby',
      transitions: 2,
    },
    {
      name: "another's, unchanged for longer than the duration: acquire",
      current: held,
      observedAt: 100_000,
      now: 115_001,
      step: 'acquire',
      transitions: 3,
    },
  ])('$name', ({ current, observedAt, now, step, transitions }) => {
    const observed =
      observedAt === undefined || !current ? undefined : { record: recordOf(current), at: observedAt };
    const decision = decideLeaseStep({
      lease: current,
      identity: me,
      now,
      observed,
      leaseDurationSeconds: 15,
    });
    expect(decision.step).toBe(step);
    expect(decision.transitions).toBe(transitions);
  });

  it('measures expiry from when the record last changed, on its own clock', () => {
    const first = decideLeaseStep({
      lease: held,
      identity: me,
      now: 1000,
      observed: undefined,
      leaseDurationSeconds: 15,
    });
    expect(first.observation).toEqual({ record: recordOf(held), at: 1000 });
    const renewedByOther = lease({ holderIdentity: other, renewTime: 't2' });
    const later = decideLeaseStep({
      lease: renewedByOther,
      identity: me,
      now: 16_001,
      observed: first.observation,
      leaseDurationSeconds: 15,
    });
    expect(later.step).toBe('standby');
    expect(later.observation?.at).toBe(16_001);
  });
});
