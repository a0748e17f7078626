import { describe, expect, it } from 'vitest';
import { scalingSpec, scalingSvg, withPoint, type ScalingPoint } from './scaling.js';

const point = (count: number, rssSteadyMiB: number, cpuSeconds: number): ScalingPoint => ({
  count,
  intervalMs: 10_000,
  runs: 1,
  rssSteadyMiB,
  cpuSeconds,
  cpuMeasure: 'idle cycle',
  measuredAt: '2026-12-02T00:00:00.000Z',
  commit: 'abc1234',
});

describe('withPoint', () => {
  it.each([
    { name: 'adds a new count in order', before: [1000, 10000], add: 3000, after: [1000, 3000, 10000] },
    { name: 'replaces the point of the same count', before: [1000, 3000], add: 1000, after: [1000, 3000] },
    { name: 'starts an empty record', before: [], add: 50000, after: [50000] },
  ])('$name', ({ before, add, after }) => {
    const updated = withPoint(
      before.map((count) => point(count, 100, 1)),
      point(add, 200, 2),
    );
    expect(updated.map((each) => each.count)).toEqual(after);
    expect(updated.find((each) => each.count === add)?.rssSteadyMiB).toBe(200);
  });
});

describe('the scaling plot', () => {
  const points = [point(1000, 126, 0.55), point(10000, 233, 4.9)];

  it('plots every point with its interval in the data', () => {
    const spec = scalingSpec(points) as unknown as {
      data: { values: Array<{ count: number; interval: string }> };
    };
    expect(spec.data.values.map(({ count, interval }) => [count, interval])).toEqual([
      [1000, '10 s'],
      [10000, '10 s'],
    ]);
  });

  it('renders to an SVG that labels each figure', async () => {
    const svg = await scalingSvg(points);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['126', '233', '0.55', '4.90', 'controller RSS, steady (MiB)'])
      expect(svg).toContain(text);
  });
});
