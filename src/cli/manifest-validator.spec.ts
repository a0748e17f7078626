import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REJECTED_SPECS } from '../../test/fixtures/rejected-specs.js';
import {
  CEL_RULES_AS_JSON_SCHEMA,
  celRulesOf,
  CRD_FILE,
  formatFinding,
  ManifestValidator,
} from './manifest-validator.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');
const validator = new ManifestValidator();
const manifest = (spec: object) =>
  `apiVersion: kubernetes-client.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec: ${JSON.stringify(spec)}\n`;

describe('kes validate', () => {
  it('has a JSON Schema equivalent for every CEL rule of the CRD', () => {
    const crd = parseAllDocuments(readFileSync(CRD_FILE, 'utf8'))[0]!.toJS() as object;
    const rules = celRulesOf(crd);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(CEL_RULES_AS_JSON_SCHEMA, rule).toHaveProperty([rule]);
  });

  it('accepts the seed README’s examples', () => {
    expect(validator.check('seed.yaml', fixture('seed-examples.yaml'))).toEqual([]);
  });

  it('accepts the deprecated forms and names each with its replacement', () => {
    const findings = validator.check('old.yaml', fixture('deprecated-forms.yaml'));
    expect(findings.every((finding) => finding.severity === 'deprecated')).toBe(true);
    expect(findings.map(formatFinding)).toEqual(
      expect.arrayContaining([
        'old.yaml:1: secretDescriptor: deprecated: use spec',
        'old.yaml:2: spec.type: deprecated: use spec.template.type',
        'old.yaml:3: spec.backendType: deprecated: secretManager: use secretsManager',
      ]),
    );
  });

  it.each(REJECTED_SPECS)('finds the problem the API server refuses: %s', (_, spec) => {
    const errors = validator
      .check('bad.yaml', manifest(spec))
      .filter((finding) => finding.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
  });

  it.each([
    [
      { backendType: 'vault', kvVersion: 2, data: [{ key: 'k' }] },
      'x.yaml:1: spec.data[0]: each data item needs key and name, or path (SSM), but not both',
    ],
    [
      { backendType: 'secretsManager', kvVersion: 2 },
      'x.yaml:1: spec: kvVersion applies only to backendType vault',
    ],
    [
      { backendType: 'vault', refreshInterval: '1d' },
      'x.yaml:1: spec.refreshInterval: must be a duration such as 30s, 15m or 1h30m, or 0 (never refresh)',
    ],
    [
      { backendType: 'vault', refreshInterval: '200ms' },
      'x.yaml:1: spec.refreshInterval: 200ms is below 1s (0 never refreshes)',
    ],
    [{ backendType: 'vault', bogus: 1 }, 'x.yaml:1: spec.bogus: unknown field'],
    [
      { backendType: 'vault', deletionPolicy: 'Orphan' },
      'x.yaml:1: spec.deletionPolicy: must be one of "Delete", "Retain"',
    ],
  ])('says %j as one line: %s', (spec, line) => {
    expect(validator.check('x.yaml', manifest(spec)).map(formatFinding)).toEqual([line]);
  });

  it('reports YAML errors and a wrong apiVersion, and skips other kinds', () => {
    const text =
      'kind: ConfigMap\napiVersion: v1\n---\nkind: ExternalSecret\napiVersion: v1\n---\nkey: [unclosed\n';
    expect(validator.check('m.yaml', text).map((finding) => `${finding.document} ${finding.path}`)).toEqual([
      '2 apiVersion',
      '3 (yaml)',
    ]);
  });
});
