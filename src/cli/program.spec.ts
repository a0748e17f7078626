import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, namespaceAnnotationsOf, runCli } from './program.js';

async function kes(args: string[], stdin = '') {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    out: (text) => (out += text),
    err: (text) => (err += text),
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
    color: false,
    readStdin: () => stdin,
  });
  return { code, out, err };
}

const folder = mkdtempSync(join(tmpdir(), 'kes-'));
const file = (name: string, text: string) => {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
};
const good = `apiVersion: kubernetes-client.io/v1
kind: ExternalSecret
metadata: {name: web}
spec: {backendType: secretsManager, roleArn: 'arn:aws:iam::123456789012:role/web', data: [{key: web/password, name: password}]}
`;

describe('kes: exit codes and output', () => {
  it.each([
    [['validate', 'GOOD'], EXIT.ok, /^1 file\(s\) valid\n$/, ''],
    [['validate', 'BAD'], EXIT.problems, /^$/, /bad\.yaml:1: spec\.bogus: unknown field\n/],
    [['validate', '-'], EXIT.ok, /valid/, ''],
    [['validate'], EXIT.usage, /^$/, /missing required argument 'files'/],
    [['frobnicate'], EXIT.usage, /^$/, /unknown command 'frobnicate'/],
    [['--version'], EXIT.ok, /^\d+\.\d+\.\d+\n$/, ''],
    [['validate', '--help'], EXIT.ok, /Example:\n {2}kes validate/, ''],
    [['sync'], EXIT.usage, /^$/, /kes: name an ExternalSecret, or give --all/],
  ])('kes %j exits %i', async (args, code, out, err) => {
    const paths = args.map((arg) =>
      arg === 'GOOD'
        ? file('good.yaml', good)
        : arg === 'BAD'
          ? file('bad.yaml', good.replace('roleArn', 'bogus: 1, roleArn'))
          : arg,
    );
    const result = await kes(paths, good);
    expect(result.code).toBe(code);
    expect(result.out).toMatch(out);
    if (err) expect(result.err).toMatch(err);
  });

  it('checks the role policy with --namespace-annotations', async () => {
    const path = file('role.yaml', good);
    const denied = await kes([
      'validate',
      path,
      '--namespace-annotations',
      'iam.amazonaws.com/permitted=arn:aws:iam::123456789012:role/api-.*',
    ]);
    expect(denied.code).toBe(EXIT.problems);
    expect(denied.err).toContain(`${path}:1: spec: not allowed: `);
    const allowed = await kes([
      'validate',
      path,
      '--namespace-annotations',
      'iam.amazonaws.com/permitted=arn:aws:iam::123456789012:role/web',
    ]);
    expect(allowed.code).toBe(EXIT.ok);
  });

  it('reads namespace annotations from a Namespace file or key=value', () => {
    const namespace = file(
      'ns.yaml',
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  annotations: {a: "1"}\n',
    );
    expect(namespaceAnnotationsOf([namespace, 'b=2=3'])).toEqual({ a: '1', b: '2=3' });
    expect(namespaceAnnotationsOf(undefined)).toBeUndefined();
  });
});
