import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { DesiredSecret } from '../domain/secret-manifest.js';
import { foreignMetadata } from './secret.store.js';

const desired = {
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/tls',
  data: {},
  metadata: { name: 'web', namespace: 'ns', labels: { tier: 'web' }, annotations: {} },
} as DesiredSecret;

/** A live Secret whose managedFields say that this controller applied `ours` labels. */
const live = (labels: Record<string, string>, ours: string[]): V1Secret => ({
  metadata: {
    name: 'web',
    labels,
    annotations: { note: 'kept' },
    managedFields: [
      {
        manager: 'kubernetes-external-secrets',
        operation: 'Apply',
        fieldsV1: { 'f:metadata': { 'f:labels': Object.fromEntries(ours.map((key) => [`f:${key}`, {}])) } },
      },
    ],
  },
});

describe('foreignMetadata (what a replaced Secret carries over)', () => {
  it.each<{ name: string; labels: Record<string, string>; ours: string[]; carried: Record<string, string> }>([
    {
      name: "another tool's label",
      labels: { tier: 'web', backup: 'yes' },
      ours: ['tier'],
      carried: { backup: 'yes' },
    },
    {
      name: 'a label this controller set and the spec dropped',
      labels: { tier: 'web', team: 'a' },
      ours: ['tier', 'team'],
      carried: {},
    },
    { name: 'a label that is desired anyway', labels: { tier: 'old' }, ours: [], carried: {} },
  ])('$name', ({ labels, ours, carried }) => {
    expect(foreignMetadata(desired, live(labels, ours))).toEqual({
      labels: carried,
      annotations: { note: 'kept' },
    });
  });
});
