import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import type { ExternalSecret } from '../domain/external-secret.js';
import { accessDenialReason, type AccessPolicySettings } from '../domain/access-policy.js';
import { isObject } from '../domain/is-object.js';
import { InvalidSpecError, normalizeSpec } from '../domain/normalize-spec.js';

/** The CRD shipped with the package (crds/ beside dist/): the schema `kes validate` checks against. */
export const CRD_FILE = new URL('../../crds/externalsecrets.kubernetes-client.io.yaml', import.meta.url);

/** One finding: where (file, document, field path) and what. Deprecations do not fail validation. */
export interface Finding {
  readonly file: string;
  /** 1-based position of the YAML document in the file. */
  readonly document: number;
  readonly path: string;
  readonly message: string;
  readonly severity: 'error' | 'deprecated';
}

export const formatFinding = ({ file, document, path, message, severity }: Finding): string =>
  `${file}:${document}: ${path}: ${severity === 'deprecated' ? 'deprecated: ' : ''}${message}`;

/**
 * The CRD's CEL rules (x-kubernetes-validations), which JSON Schema validators do not run, as the JSON Schema
 * that says the same, keyed by the rule's text. A rule added to the CRD without an entry here fails a test.
 */
export const CEL_RULES_AS_JSON_SCHEMA: Readonly<Record<string, object>> = {
  'has(self.spec) || has(self.secretDescriptor)': {
    anyOf: [{ required: ['spec'] }, { required: ['secretDescriptor'] }],
  },
  "!has(self.kvVersion) || self.backendType == 'vault'": {
    if: { required: ['kvVersion'] },
    then: { properties: { backendType: { const: 'vault' } }, required: ['backendType'] },
  },
  "self.matches(r'^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$')": {
    pattern: '^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$',
  },
  '(has(self.key) && has(self.name)) != has(self.path)': {
    oneOf: [{ required: ['key', 'name'] }, { required: ['path'] }],
  },
  '!has(self.recursive) || has(self.path)': { if: { required: ['recursive'] }, then: { required: ['path'] } },
  '!(has(self.versionStage) && has(self.versionId))': { not: { required: ['versionStage', 'versionId'] } },
};

interface CelRule {
  readonly rule: string;
  readonly message?: string;
}

/** Every CEL rule of a schema, as it appears in it. */
export function celRulesOf(schema: unknown): string[] {
  if (Array.isArray(schema)) return schema.flatMap(celRulesOf);
  if (!isObject(schema)) return [];
  const own = ((schema['x-kubernetes-validations'] as CelRule[] | undefined) ?? []).map((rule) => rule.rule);
  return [...own, ...Object.values(schema).flatMap(celRulesOf)];
}

/**
 * The CRD's OpenAPI schema as JSON Schema for ajv: CEL rules become their JSON Schema equivalents (under
 * `allOf`, with the CRD's message kept for the finding), Kubernetes' own keywords are dropped, and
 * `nullable` is honoured as the API server does.
 */
function toJsonSchema(schema: unknown, messages: Map<string, string>, path = '#'): unknown {
  if (Array.isArray(schema))
    return schema.map((item, index) => toJsonSchema(item, messages, `${path}/${index}`));
  if (!isObject(schema)) return schema;
  const converted: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword.startsWith('x-kubernetes-')) continue;
    if (keyword === 'properties' && isObject(value)) {
      converted.properties = Object.fromEntries(
        Object.entries(value).map(([name, property]) => [
          name,
          toJsonSchema(property, messages, `${path}/properties/${name}`),
        ]),
      );
      continue;
    }
    converted[keyword] = toJsonSchema(value, messages, `${path}/${keyword}`);
  }
  if (schema['x-kubernetes-preserve-unknown-fields'] === true && converted.type === 'object') {
    converted.additionalProperties ??= true;
  } else if (
    converted.type === 'object' &&
    converted.properties &&
    converted.additionalProperties === undefined
  ) {
    // A structural schema prunes unknown fields; the API server drops them silently. Said here as an error.
    converted.additionalProperties = false;
  }
  const rules = (schema['x-kubernetes-validations'] as CelRule[] | undefined) ?? [];
  if (rules.length > 0) {
    converted.allOf = rules.map(({ rule, message }, index) => {
      const equivalent = CEL_RULES_AS_JSON_SCHEMA[rule];
      if (!equivalent) throw new Error(`kes validate has no JSON Schema for the CRD rule ${rule}`);
      // Every error under this schema path is this rule's: one finding with the CRD's own message.
      messages.set(`${path}/allOf/${index}/`, message ?? `failed rule ${rule}`);
      return equivalent;
    });
  }
  return converted;
}

/** Validates ExternalSecret manifests offline, with the CRD's schema and the controller's own normalisation. */
export class ManifestValidator {
  private readonly validate: ValidateFunction;
  private readonly ruleMessages = new Map<string, string>();

  constructor(crdText = readFileSync(CRD_FILE, 'utf8')) {
    const crd = parseAllDocuments(crdText)[0]!.toJS() as {
      spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: unknown } }> };
    };
    const schema = toJsonSchema(crd.spec.versions[0]!.schema.openAPIV3Schema, this.ruleMessages);
    this.validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(
      schema as object,
    );
  }

  /**
   * The findings of every ExternalSecret document in a YAML text (other kinds are skipped); with a namespace's
   * annotations, also the role and key-name policy the controller applies.
   */
  check(
    file: string,
    text: string,
    policy?: { readonly annotations: Record<string, string>; readonly settings: AccessPolicySettings },
  ): Finding[] {
    const findings: Finding[] = [];
    for (const [index, document] of parseAllDocuments(text).entries()) {
      const at = (path: string, message: string, severity: Finding['severity'] = 'error') =>
        findings.push({ file, document: index + 1, path, message, severity });
      if (document.errors.length > 0) {
        for (const error of document.errors) at('(yaml)', error.message.split('\n')[0]!);
        continue;
      }
      const object: unknown = document.toJS();
      if (object === null || object === undefined) continue;
      if (!isObject(object)) {
        at('(document)', 'not a YAML mapping');
        continue;
      }
      if (object.kind !== 'ExternalSecret') continue;
      if (object.apiVersion !== 'kubernetes-client.io/v1') {
        at('apiVersion', `must be kubernetes-client.io/v1, not ${JSON.stringify(object.apiVersion)}`);
        continue;
      }
      const schemaFailed = !this.validate(object);
      if (schemaFailed) {
        const seen = new Set<string>();
        for (const [path, message] of this.describeAll(this.validate.errors ?? [])) {
          if (seen.has(`${path}\0${message}`)) continue;
          seen.add(`${path}\0${message}`);
          at(path, message);
        }
      }
      for (const [path, message] of deprecationsOf(object as unknown as ExternalSecret)) {
        at(path, message, 'deprecated');
      }
      try {
        const spec = normalizeSpec(object as unknown as ExternalSecret);
        const denial = policy && accessDenialReason(spec, policy.annotations, policy.settings);
        if (denial) at('spec', `not allowed: ${denial}`);
      } catch (error) {
        if (!(error instanceof InvalidSpecError)) throw error;
        const message = error.message;
        const path = /^(spec[\w.[\]]*)/.exec(message)?.[1] ?? 'spec';
        // The controller's rules check what the schema cannot: after a schema error, one line per problem.
        if (!schemaFailed) {
          at(path, message.startsWith(`${path} `) ? message.slice(path.length + 1) : message);
        }
      }
    }
    return findings;
  }

  /** One [path, message] per problem: the errors of a CEL rule's equivalent become the rule's one message. */
  private describeAll(errors: readonly ErrorObject[]): Array<[string, string]> {
    const byRule = new Map<string, { path: string; message: string }>();
    const described: Array<[string, string]> = [];
    for (const error of errors) {
      const path = fieldPath(error.instancePath);
      const rule = [...this.ruleMessages].find(([prefix]) => error.schemaPath.startsWith(prefix));
      if (!rule) {
        described.push(this.describe(error, path));
        continue;
      }
      // The rule applies to the object it is declared on: the shortest instance path among its errors.
      const previous = byRule.get(rule[0]);
      if (!previous || path.length < previous.path.length) byRule.set(rule[0], { path, message: rule[1] });
    }
    return [
      ...[...byRule.values()].map(({ path, message }): [string, string] => [path, message]),
      ...described,
    ];
  }

  private describe(error: ErrorObject, path: string): [string, string] {
    switch (error.keyword) {
      case 'required':
        return [
          `${path === '(root)' ? '' : `${path}.`}${error.params.missingProperty as string}`,
          'required',
        ];
      case 'additionalProperties':
        return [
          `${path === '(root)' ? '' : `${path}.`}${error.params.additionalProperty as string}`,
          'unknown field',
        ];
      case 'enum':
        return [
          path,
          `must be one of ${(error.params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`,
        ];
      default:
        return [path, error.message ?? error.keyword];
    }
  }
}

/** `spec.data[0].key` from ajv's `/spec/data/0/key`; `(root)` for the document itself. */
function fieldPath(instancePath: string): string {
  return (
    instancePath
      .slice(1)
      .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
      .replace(/\//g, '.') || '(root)'
  );
}

/** KES's deprecated forms, each with its replacement: accepted by the controller, named by `kes validate`. */
export function deprecationsOf(object: ExternalSecret): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  if (object.secretDescriptor !== undefined) found.push(['secretDescriptor', 'use spec']);
  const spec = object.spec ?? object.secretDescriptor;
  const prefix = object.spec ? 'spec' : 'secretDescriptor';
  if (spec?.type !== undefined) found.push([`${prefix}.type`, 'use spec.template.type']);
  if (spec?.backendType === 'secretManager')
    found.push([`${prefix}.backendType`, 'secretManager: use secretsManager']);
  return found;
}
