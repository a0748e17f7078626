import type { ExternalSecret } from './external-secret.js';

/** What of an ExternalSecret, seen in an informer event, decides whether it syncs now. */
export interface ObservedObject {
  readonly generation: number | undefined;
  /** Its labels and annotations, as one comparable text. */
  readonly metadata: string;
}

export function observe(externalSecret: ExternalSecret): ObservedObject {
  const { generation, labels = {}, annotations = {} } = externalSecret.metadata;
  return { generation, metadata: JSON.stringify([sorted(labels), sorted(annotations)]) };
}

/**
 * Why an updated ExternalSecret syncs at once, or undefined: a new generation (its spec changed), or a change of
 * its labels or annotations, the force-sync of ESO (`kubectl annotate es NAME force-sync=$(date +%s)
 * --overwrite`). Status writes and managedFields-only updates (the echo of this controller's own writes) change
 * neither, so they trigger nothing and an idle cycle stays without writes.
 */
export function syncTrigger(
  previous: ObservedObject | undefined,
  current: ObservedObject,
): 'spec' | 'metadata' | undefined {
  if (previous === undefined || previous.generation !== current.generation) return 'spec';
  if (previous.metadata !== current.metadata) return 'metadata';
  return undefined;
}

const sorted = (map: Record<string, string>) =>
  Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
