import { describe, expect, it } from 'vitest';
import { placeOf, summarizeProfile, type CpuProfile } from './profile.js';

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
