/**
 * Where the controller's CPU goes in the idle cycles (`--cpu-prof`): the controller runs with V8's sampling
 * profiler (`node --cpu-prof`), which writes one `.cpuprofile` when it exits; only the samples taken inside the
 * measured idle window count. The window is read from the monotonic clock, which the benchmark and the
 * controller share (V8's profile timestamps and `process.hrtime` are both CLOCK_MONOTONIC on Linux).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of V8's `.cpuprofile` JSON this reads. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: CallFrame;
    children?: number[];
  }>;
  /** Microseconds of the monotonic clock. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a sample's function is: V8 counts lines and columns from 0. */
export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber?: number;
}

/**
 * The controller runs as a bundle (`dist/bundle/*.mjs`, minified chunks): a frame there is mapped through the
 * chunk's external source map to the TypeScript source or the package file it came from, and takes the
 * source's function name, so that a profile says `pump src/sync/work-queue.ts:116`, not `chunk-X.mjs:215`.
 * Frames elsewhere, and frames no map covers, are kept as they are.
 */
export class BundleFrames {
  private readonly maps = new Map<string, SourceMap | undefined>();

  resolve(frame: CallFrame): CallFrame {
    if (!frame.url.startsWith('file://') || !frame.url.endsWith('.mjs')) return frame;
    const map = this.mapOf(frame.url);
    const entry = map?.findEntry(frame.lineNumber, frame.columnNumber ?? 0);
    if (!entry || !('originalSource' in entry)) return frame;
    // Node.js also gives the name the source has there (which @types/node's SourceMapping does not declare).
    const { name } = entry as { name?: string };
    return {
      functionName: name ?? frame.functionName,
      url: new URL(entry.originalSource, frame.url).href,
      lineNumber: entry.originalLine,
      columnNumber: entry.originalColumn,
    };
  }

  private mapOf(url: string): SourceMap | undefined {
    if (!this.maps.has(url)) {
      const file = `${fileURLToPath(url)}.map`;
      this.maps.set(
        url,
        existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as never) : undefined,
      );
    }
    return this.maps.get(url);
  }
}

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  /** CPU time sampled in the window (idle excluded), ms. */
  readonly busyMs: number;
  /** Self time by function, highest first. */
  readonly functions: ProfileEntry[];
  /** Self time by where the code lives: a package, a Node.js module, the controller's source, GC. */
  readonly places: ProfileEntry[];
  /** Time including callees, for the controller's own functions (who asks for the work). */
  readonly ownInclusive: ProfileEntry[];
}

/** The package, Node.js built-in or source folder a script URL belongs to. */
export function placeOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inPackage) {
    // Scoped AWS and Smithy packages in one entry each: their many small packages are one client stack.
    const name = inPackage[1]!;
    if (name.startsWith('@aws-sdk/')) return '@aws-sdk/*';
    if (name.startsWith('@smithy/')) return '@smithy/*';
    return name;
  }
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/')[0]!;
  // The controller's own code: its TypeScript source (a bundle frame, mapped) or tsc's output under dist/.
  const source = /\/(?:src|dist)\/(.+?)\/[^/]+\.[jt]s$/.exec(url);
  if (source) return `src/${source[1]}`;
  return url.replace(/^file:\/\//, '');
}

const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\/.*\/node_modules\//, '')
    .replace(/^file:\/\/.*?\/(?:src|dist)\//, 'src/')
    .replace(/^node:/, '');

/** The controller's own code: its sources (or tsc's output), not a package's and not Node.js's. */
const isOwnCode = (url: string) => /\/(?:src|dist)\//.test(url) && !/node_modules/.test(url);

/** Self and own-code inclusive time of the samples in [fromUs, toUs], as tables of the top `top` entries. */
export function summarizeProfile(
  profile: CpuProfile,
  fromUs: number,
  toUs: number,
  top = 25,
  frames = new BundleFrames(),
): ProfileSummary {
  const byId = new Map(
    profile.nodes.map((node) => [node.id, { ...node, callFrame: frames.resolve(node.callFrame) }]),
  );
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const self = new Map<string, number>();
  const places = new Map<string, number>();
  const ownInclusive = new Map<string, number>();
  let busyUs = 0;
  let at = profile.startTime;
  for (let index = 0; index < profile.samples.length; index++) {
    at += profile.timeDeltas[index] ?? 0;
    if (at < fromUs || at > toUs) continue;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[index + 1] ?? 0;
    const node = byId.get(profile.samples[index]!)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const name = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    self.set(name, (self.get(name) ?? 0) + us);
    const place = placeOf(url, functionName);
    places.set(place, (places.get(place) ?? 0) + us);
    // Each of the controller's own functions on the stack, counted once per sample.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (!isOwnCode(frame.url)) continue;
      const own = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
      if (seen.has(own)) continue;
      seen.add(own);
      ownInclusive.set(own, (ownInclusive.get(own) ?? 0) + us);
    }
  }
  const table = (entries: Map<string, number>) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 100) / 10,
        percent: busyUs > 0 ? Math.round((1000 * us) / busyUs) / 10 : 0,
      }));
  return {
    busyMs: Math.round(busyUs / 1000),
    functions: table(self),
    places: table(places),
    ownInclusive: table(ownInclusive),
  };
}

/** The one profile a process wrote into `dir`. */
export function readProfile(dir: string): CpuProfile {
  const files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as CpuProfile;
}

/** Now on the monotonic clock, in µs: the clock of V8's CPU profiles (both CLOCK_MONOTONIC on Linux). */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** A measured window on the monotonic clock, in µs. */
export interface MonotonicWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

/** Reads the profile a process wrote into `dir` as it exited, prints the window's summary, and returns it. */
export function reportProfile(
  dir: string,
  window: MonotonicWindow,
  what: string,
  cycles: number,
): ProfileSummary {
  const summary = summarizeProfile(readProfile(dir), window.fromUs, window.toUs);
  console.error(formatProfile(summary, what, cycles));
  return summary;
}

/** The summary as text: three tables of name, ms per cycle and share. */
export function formatProfile(summary: ProfileSummary, what: string, cycles: number): string {
  const rows = (title: string, entries: ProfileEntry[]) =>
    [
      `  ${title}`,
      ...entries.map(
        ({ name, ms, percent }) =>
          `    ${(ms / cycles).toFixed(1).padStart(8)} ms/cycle ${percent.toFixed(1).padStart(5)} %  ${name}`,
      ),
    ].join('\n');
  return [
    `[bench] CPU profile of ${what}: ${(summary.busyMs / cycles).toFixed(0)} ms busy per cycle`,
    rows('self time by place', summary.places),
    rows('self time by function', summary.functions),
    rows("inclusive time of the controller's own functions", summary.ownInclusive),
  ].join('\n');
}
