import Table from 'cli-table3';
import { styleText } from 'node:util';
import type { ExternalSecret } from '../domain/external-secret.js';

/** One ExternalSecret as `kes status` lists it. */
export interface StatusRow {
  readonly namespace: string;
  readonly name: string;
  readonly backend: string;
  readonly ready: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly refresh: string;
  readonly lastSync: string;
  readonly age: string;
  readonly message: string;
}

/** `3d`, `5h`, `12m`, `40s`: kubectl's age column. */
export function shortAge(from: string | undefined, now: Date): string {
  if (!from) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 2 * 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 2 * 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** The rows, the broken ones first (not Ready, then not yet synced), then by namespace and name. */
export function statusRows(objects: readonly ExternalSecret[], now: Date): StatusRow[] {
  const rank = { False: 0, Unknown: 1, True: 2 } as const;
  return objects
    .map((object): StatusRow => {
      const spec = object.spec ?? object.secretDescriptor;
      const ready = object.status?.conditions?.find((condition) => condition.type === 'Ready');
      return {
        namespace: object.metadata.namespace ?? '',
        name: object.metadata.name ?? '',
        backend: spec?.backendType ?? '',
        ready: ready?.status ?? 'Unknown',
        reason: ready?.reason ?? (object.status ? '' : 'NotSyncedYet'),
        refresh: spec?.refreshInterval ?? 'default',
        lastSync: object.status?.lastSync ? `${shortAge(object.status.lastSync, now)} ago` : '—',
        age: shortAge(object.metadata.creationTimestamp as unknown as string | undefined, now),
        message: ready?.message ?? '',
      };
    })
    .sort(
      (a, b) =>
        rank[a.ready] - rank[b.ready] ||
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name),
    );
}

const COLUMNS = ['NAMESPACE', 'NAME', 'BACKEND', 'READY', 'REASON', 'REFRESH', 'LAST SYNC', 'AGE', 'MESSAGE'];
const NO_BORDERS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '   ',
};

/** The table as kubectl prints one: no borders, upper-case headings; READY coloured when `color` is on. */
export function formatStatusTable(rows: readonly StatusRow[], options: { color: boolean }): string {
  const table = new Table({
    head: COLUMNS,
    chars: NO_BORDERS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  const paint = (ready: StatusRow['ready']) =>
    !options.color
      ? ready
      : styleText(ready === 'True' ? 'green' : ready === 'False' ? 'red' : 'yellow', ready, {
          // The caller decided (a TTY, no NO_COLOR): styleText would look at its own stream.
          validateStream: false,
        });
  for (const row of rows) {
    table.push([
      row.namespace,
      row.name,
      row.backend,
      paint(row.ready),
      row.reason,
      row.refresh,
      row.lastSync,
      row.age,
      row.message,
    ]);
  }
  return `${table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')}\n`;
}
