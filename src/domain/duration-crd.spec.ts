import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN } from './duration.js';

const crd = parse(
  readFileSync(new URL('../../crds/externalsecrets.kubernetes-client.io.yaml', import.meta.url), 'utf8'),
) as {
  spec: {
    versions: Array<{
      schema: {
        openAPIV3Schema: { properties: { spec: { properties: Record<string, Record<string, unknown>> } } };
      };
      additionalPrinterColumns: Array<{ name: string; jsonPath: string }>;
    }>;
  };
};
const [version] = crd.spec.versions;

describe('spec.refreshInterval in the CRD', () => {
  it('is validated with the pattern the controller parses with', () => {
    const field = version!.schema.openAPIV3Schema.properties.spec.properties.refreshInterval!;
    const [rule] = field['x-kubernetes-validations'] as Array<{ rule: string }>;
    expect(rule!.rule).toBe(`self.matches(r'${DURATION_PATTERN}')`);
  });

  it('is a printer column', () => {
    expect(version!.additionalPrinterColumns).toContainEqual(
      expect.objectContaining({ name: 'Refresh', jsonPath: '.spec.refreshInterval' }),
    );
  });
});
