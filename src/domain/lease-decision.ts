/** What a replica saw of the Lease: its holder record, and when (on the replica's own clock) it last changed. */
export interface LeaseObservation {
  readonly record: string;
  readonly at: number;
}

export interface LeaseSpecView {
  readonly holderIdentity?: string;
  readonly renewTime?: unknown;
  readonly leaseDurationSeconds?: number;
  readonly leaseTransitions?: number;
}

/**
 * One step of leader election, as client-go decides it: `create` a Lease that does not exist; `renew` one we
 * hold; `acquire` one that is free or whose holder has not renewed for a whole lease duration, measured from
 * when this replica saw its record change (no trust in other clocks); else `standby`.
 */
export type LeaseStep = 'create' | 'renew' | 'acquire' | 'standby';

export interface LeaseDecision {
  readonly step: LeaseStep;
  readonly observation: LeaseObservation | undefined;
  /** leaseTransitions to write when taking over from another holder. */
  readonly transitions: number;
}

export function decideLeaseStep(input: {
  readonly lease: LeaseSpecView | undefined;
  readonly identity: string;
  readonly now: number;
  readonly observed: LeaseObservation | undefined;
  readonly leaseDurationSeconds: number;
}): LeaseDecision {
  const { lease, identity, now, observed } = input;
  if (!lease) return { step: 'create', observation: undefined, transitions: 0 };
  const record = JSON.stringify([lease.holderIdentity, lease.renewTime, lease.leaseDurationSeconds]);
  const observation = observed?.record === record ? observed : { record, at: now };
  const transitions = lease.leaseTransitions ?? 0;
  if (lease.holderIdentity === identity) return { step: 'renew', observation, transitions };
  const expired = now > observation.at + (lease.leaseDurationSeconds ?? input.leaseDurationSeconds) * 1000;
  if (lease.holderIdentity && !expired) return { step: 'standby', observation, transitions };
  return { step: 'acquire', observation, transitions: transitions + (lease.holderIdentity ? 1 : 0) };
}
