import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { BundleFrames, placeOf, summarizeProfile, type CpuProfile } from './profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
const DIST = 'file:///app/dist';
const MODULES = 'file:///app/node_modules';

/**
 * A call tree: (root) → reconcile (own) → sign (@smithy) and (root) → (garbage collector), (idle). Samples at
 * 1000 + cumulative deltas µs; each stands for the time until the next one.
 */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 4, 5] },
    { id: 2, callFrame: frame('reconcile', `${DIST}/sync/reconciler.service.js`, 9), children: [3] },
    { id: 3, callFrame: frame('sign', `${MODULES}/@smithy/signature-v4/dist-cjs/index.js`, 99) },
    { id: 4, callFrame: frame('(garbage collector)') },
    { id: 5, callFrame: frame('(idle)') },
  ],
  startTime: 1000,
  endTime: 2000,
  //         t=1100 1200 1300 1400 1500 1600 1700
  samples: [3, 3, 2, 4, 5, 3, 3],
  timeDeltas: [100, 100, 100, 100, 100, 100, 100],
};

describe('placeOf', () => {
  it.each([
    [`${MODULES}/@aws-sdk/client-ssm/dist-cjs/index.js`, 'x', '@aws-sdk/*'],
    [`${MODULES}/@smithy/core/dist-cjs/index.js`, 'x', '@smithy/*'],
    [`${MODULES}/axios/lib/core/Axios.js`, 'x', 'axios'],
    [`${MODULES}/@kubernetes/client-node/dist/gen/x.js`, 'x', '@kubernetes/client-node'],
    ['node:internal/http2/core', 'x', 'node:http2'],
    ['node:_http_client', 'x', 'node:_http_client'],
    [`${DIST}/backends/aws/parameter-store.backend.js`, 'x', 'src/backends/aws'],
    ['file:///app/src/sync/work-queue.ts', 'x', 'src/sync'],
    [`${MODULES}/@kubernetes/client-node/src/watch.ts`, 'x', '@kubernetes/client-node'],
    ['', '(garbage collector)', '(garbage collector)'],
    ['', 'parse', '(native)'],
  ])('%s is %s', (url, name, expected) => expect(placeOf(url, name)).toBe(expected));
});

describe('summarizeProfile', () => {
  it('counts self time, places and own inclusive time inside the window only, idle excluded', () => {
    // The window 1150..1550 holds the samples at 1200 (sign), 1300 (reconcile), 1400 (GC), 1500 (idle).
    const summary = summarizeProfile(profile, 1150, 1550);
    expect(summary.busyMs).toBe(0); // 300 µs rounds to 0 ms
    const us = (entries: { name: string; ms: number }[]) =>
      Object.fromEntries(entries.map(({ name, ms }) => [name, ms * 1000]));
    expect(us(summary.places)).toEqual({ '@smithy/*': 100, 'src/sync': 100, '(garbage collector)': 100 });
    expect(us(summary.ownInclusive)).toEqual({ 'reconcile src/sync/reconciler.service.js:10': 200 });
    expect(summary.functions.map(({ percent }) => percent)).toEqual([33.3, 33.3, 33.3]);
  });

  it('counts every sample of the whole profile when the window covers it', () => {
    const summary = summarizeProfile(profile, 0, Number.MAX_SAFE_INTEGER);
    // Seven samples, the last one without a successor (0 µs), the idle one excluded: 5 × 100 µs.
    const total = summary.places.reduce((sum, { ms }) => sum + ms, 0);
    expect(total).toBeCloseTo(0.5);
    expect(summary.places[0]).toEqual({ name: '@smithy/*', ms: 0.3, percent: 60 });
  });
});

describe('BundleFrames', () => {
  // A chunk as the bundle step writes one: minified, its external map pointing back at the TypeScript source.
  const root = mkdtempSync(join(tmpdir(), 'bundle-frames-'));
  mkdirSync(join(root, 'dist', 'bundle'), { recursive: true });
  const source = [
    'export function first(items: number[]): number {',
    '  return items[0] ?? 0;',
    '}',
    'export function pump(queue: number[]): number {',
    '  let total = 0;',
    '  while (queue.length > 0) total += queue.pop()!;',
    '  return total;',
    '}',
  ].join('\n');
  const { code, map } = transformSync(source, {
    loader: 'ts',
    format: 'esm',
    // Minified as the bundle is, names kept so that the test can find `pump` in the output.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'external',
    sourcefile: '../../src/sync/work-queue.ts',
  });
  const chunk = join(root, 'dist', 'bundle', 'chunk-TEST.mjs');
  writeFileSync(chunk, code);
  writeFileSync(`${chunk}.map`, map);
  const url = pathToFileURL(chunk).href;
  // Where the minified `pump` is; V8 counts from 0, as the map does.
  const lines = code.split('\n');
  const lineNumber = lines.findIndex((line) => line.includes('function pump'));
  const columnNumber = lines[lineNumber]!.indexOf('function pump');

  it('maps a bundle frame to its TypeScript source, line and function', () => {
    const frame = new BundleFrames().resolve({ functionName: 'u', url, lineNumber, columnNumber });
    expect(frame.url).toBe(pathToFileURL(join(root, 'src', 'sync', 'work-queue.ts')).href);
    expect(frame.lineNumber + 1).toBe(4);
    expect(placeOf(frame.url, frame.functionName)).toBe('src/sync');
  });

  it('keeps frames outside the bundle, and bundle frames without a map, as they are', () => {
    const frames = new BundleFrames();
    const builtIn = { functionName: 'emit', url: 'node:events', lineNumber: 488, columnNumber: 3 };
    expect(frames.resolve(builtIn)).toEqual(builtIn);
    const unmapped = { functionName: 'x', url: pathToFileURL(join(root, 'none.mjs')).href, lineNumber: 0 };
    expect(frames.resolve(unmapped)).toEqual(unmapped);
  });

  it("names the controller's own functions by their source in the summary", () => {
    const bundled: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2] },
        { id: 2, callFrame: { functionName: 'u', url, lineNumber, columnNumber } },
      ],
      startTime: 0,
      endTime: 300,
      samples: [2, 2, 2],
      timeDeltas: [100, 100, 100],
    };
    const summary = summarizeProfile(bundled, 0, 1000);
    expect(summary.places.map(({ name }) => name)).toEqual(['src/sync']);
    expect(summary.ownInclusive[0]!.name).toMatch(/ src\/sync\/work-queue\.ts:4$/);
  });
});
