/**
 * The cost growth at a glance (README "Performance"): each benchmark run of the default workload records its
 * medians for its object count in `bench/scaling.json` (one point per count, the newest run replacing the
 * older), and the plot of RSS and CPU against object count is drawn again from all the points into
 * `bench/scaling.svg`, with Vega-Lite (compiled to Vega, rendered headless to SVG: no browser, no canvas).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** What the CPU figure of a point measured. */
export type CpuMeasure =
  /** CPU seconds per refresh cycle in which nothing changed (the benchmark's idle cycles). */
  | 'idle cycle'
  /**
   * A restarted controller's first pass over objects that are all synced already: the informers' lists, one read
   * of every key, every Secret compared, nothing written. The figure at long intervals, where no idle cycle
   * falls in the measured window.
   */
  | 'restart pass';

export interface ScalingPoint {
  readonly count: number;
  readonly intervalMs: number;
  /** How many runs the medians are of. */
  readonly runs: number;
  readonly rssSteadyMiB: number;
  readonly cpuSeconds: number;
  readonly cpuMeasure: CpuMeasure;
  /** The reads alone (`--reads-floor`), CPU seconds per cycle, when measured. */
  readonly readsFloorCpuSeconds?: number;
  /** When and of which commit. */
  readonly measuredAt: string;
  readonly commit: string;
}

/** The points with `point` in, replacing the one of the same object count; ordered by count. */
export function withPoint(points: readonly ScalingPoint[], point: ScalingPoint): ScalingPoint[] {
  return [...points.filter((each) => each.count !== point.count), point].sort((a, b) => a.count - b.count);
}

const OBJECTS_AXIS = {
  field: 'count',
  type: 'quantitative',
  title: 'ExternalSecrets (log scale)',
  scale: { type: 'log' },
  axis: { values: [1000, 3000, 10000, 50000], format: '~s' },
} as const;

/** Two panels side by side: steady RSS, and CPU seconds per cycle (with the reads' own floor where measured). */
export function scalingSpec(points: readonly ScalingPoint[]): TopLevelSpec {
  const values = points.map((point) => ({
    ...point,
    interval:
      point.intervalMs >= 60_000 ? `${point.intervalMs / 60_000} min` : `${point.intervalMs / 1000} s`,
  }));
  const label = (field: string, format: string) => ({
    mark: { type: 'text', dy: -10, fontSize: 10 },
    encoding: { text: { field, type: 'quantitative', format } },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'kubernetes-external-secrets: cost against object count',
      subtitle: `the benchmark's medians (bench/scaling.json); interval per point: ${values.map((v) => `${v.count / 1000}k ${v.interval}`).join(', ')}`,
    },
    data: { values },
    hconcat: [
      {
        width: 300,
        height: 220,
        title: 'controller RSS, steady (MiB)',
        encoding: { x: OBJECTS_AXIS, y: { field: 'rssSteadyMiB', type: 'quantitative', title: 'MiB' } },
        layer: [{ mark: { type: 'line', point: true } }, label('rssSteadyMiB', '.0f')],
      },
      {
        width: 300,
        height: 220,
        title: 'CPU seconds per refresh of every object (gray, dashed: the reads alone)',
        encoding: {
          x: OBJECTS_AXIS,
          y: {
            field: 'cpuSeconds',
            type: 'quantitative',
            title: 'CPU s (log scale)',
            scale: { type: 'log' },
          },
        },
        layer: [
          {
            mark: { type: 'line', point: { size: 60, filled: true } },
            encoding: { shape: { field: 'cpuMeasure', type: 'nominal', title: 'measured as' } },
          },
          label('cpuSeconds', '.2f'),
          {
            // The reads alone, where the run measured them: what a cycle cannot cost less than.
            mark: { type: 'line', strokeDash: [4, 3], color: 'gray', point: { color: 'gray' } },
            transform: [{ filter: 'isValid(datum.readsFloorCpuSeconds)' }],
            encoding: { y: { field: 'readsFloorCpuSeconds', type: 'quantitative' } },
          },
        ],
      },
    ],
    config: { font: 'sans-serif' },
  } as TopLevelSpec;
}

/** The SVG of the points' plot. */
export async function scalingSvg(points: readonly ScalingPoint[]): Promise<string> {
  const view = new vega.View(vega.parse(compile(scalingSpec(points)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Records the point in `jsonPath` and draws the plot of every recorded point into `svgPath`. */
export async function recordScalingPoint(
  point: ScalingPoint,
  jsonPath: string,
  svgPath: string,
): Promise<void> {
  const points = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as ScalingPoint[]) : [];
  const updated = withPoint(points, point);
  writeFileSync(jsonPath, `${JSON.stringify(updated, null, 2)}\n`);
  writeFileSync(svgPath, await scalingSvg(updated));
  console.log(`plot: ${svgPath} (${updated.length} points: ${updated.map((each) => each.count).join(', ')})`);
}
