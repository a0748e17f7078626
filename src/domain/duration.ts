/**
 * Durations as Go (and so ESO and every Kubernetes tool) writes them: a sequence of decimal numbers with a unit,
 * `30s`, `15m`, `1h30m`, `1.5h`, `250ms`; `0` alone means zero. Units: ns, us (µs), ms, s, m, h.
 */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** The syntax, also the CRD schema's pattern for spec.refreshInterval (kept equal by a test). */
export const DURATION_PATTERN = '^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$';
const durationSyntax = new RegExp(DURATION_PATTERN);
// The micro signs as escapes: one non-ASCII character in a regular expression literal makes the production
// bundle's whole source a two-byte string (twice its memory).
const part = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g;

/** Milliseconds of a duration (rounded to whole ms), or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!durationSyntax.test(text)) return undefined;
  if (text === '0') return 0;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(part)) total += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(total);
}
