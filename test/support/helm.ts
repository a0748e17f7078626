import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';

const run = promisify(execFile);
export const CHART = new URL('../../charts/kubernetes-external-secrets', import.meta.url).pathname;

/** Runs the stack's helm with its caches and config in a temporary home (no repositories, no network). */
export async function helm(...args: string[]): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'helm-home-'));
  const { stdout } = await run(process.env.HELM_BIN!, args, {
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
    maxBuffer: 32 * 1024 * 1024,
  });
  return stdout;
}

/** Runs helm expecting it to fail; returns its stderr (helm's error message). */
export async function helmError(...args: string[]): Promise<string> {
  try {
    await helm(...args);
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
  throw new Error(`helm ${args.join(' ')} succeeded`);
}

/** Writes a values file (always with AWS_EC2_METADATA_DISABLED=true in env) and returns its path. */
export function valuesFile(values: Record<string, unknown>): string {
  const env = { AWS_EC2_METADATA_DISABLED: true, ...(values.env as object | undefined) };
  const file = join(mkdtempSync(join(tmpdir(), 'helm-values-')), 'values.yaml');
  writeFileSync(file, stringify({ ...values, env }));
  return file;
}

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

/** `helm template` of the chart with extra arguments, as objects. */
export async function renderChart(...args: string[]): Promise<RenderedObject[]> {
  const output = await helm('template', 'es', CHART, '--namespace', 'es-system', ...args);
  return parseAllDocuments(output)
    .map((document) => document.toJS() as RenderedObject | null)
    .filter((object): object is RenderedObject => object !== null);
}
