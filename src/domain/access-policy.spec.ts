import { describe, expect, it } from 'vitest';
import { accessDenialReason, type AccessPolicySettings } from './access-policy.js';
import { normalizeSpec } from './normalize-spec.js';

const ROLE = 'iam.amazonaws.com/permitted';
const NAMING = 'externalsecrets.kubernetes-client.io/permitted-key-name';
const settings: AccessPolicySettings = {
  rolePermittedAnnotation: ROLE,
  namingPermittedAnnotation: NAMING,
  enforceNamespaceAnnotations: false,
};

const spec = (fields: Record<string, unknown>) =>
  normalizeSpec({ metadata: { name: 'es' }, spec: { backendType: 'secretsManager', ...fields } });

describe('accessDenialReason', () => {
  const teamA = 'arn:aws:iam::123456789012:role/team-a';

  it.each([
    ['no annotations, not enforced', {}, { roleArn: teamA }, undefined],
    [
      'no annotation, enforced',
      {},
      { roleArn: teamA },
      `namespace has no ${ROLE} annotation and ENFORCE_NAMESPACE_ANNOTATIONS is set`,
    ],
    ['a matching role', { [ROLE]: 'arn:aws:iam::123456789012:role/team-a' }, { roleArn: teamA }, undefined],
    [
      'a matching role pattern',
      { [ROLE]: 'arn:aws:iam::123456789012:role/.*' },
      { roleArn: teamA },
      undefined,
    ],
    [
      'a role that only contains the pattern (anchored, unlike KES)',
      { [ROLE]: 'arn:aws:iam::123456789012:role/team-a' },
      { roleArn: `${teamA}-admin` },
      `namespace does not allow to assume role ${teamA}-admin (${ROLE}: arn:aws:iam::123456789012:role/team-a)`,
    ],
    [
      'an invalid pattern',
      { [ROLE]: '(' },
      { roleArn: teamA },
      `namespace annotation ${ROLE} is not a valid regular expression`,
    ],
    [
      'a key matching the naming convention',
      { [NAMING]: 'team-a/.*' },
      { data: [{ key: 'team-a/db', name: 'x' }] },
      undefined,
    ],
    [
      'a key outside the naming convention',
      { [NAMING]: 'team-a/.*' },
      { data: [{ key: 'team-b/db', name: 'x' }] },
      'key name team-b/db does not match naming convention team-a/.*',
    ],
    [
      'a dataFromWithOptions key outside the naming convention (KES skipped these)',
      { [NAMING]: 'team-a/.*' },
      { dataFromWithOptions: [{ key: 'team-b/all' }] },
      'key name team-b/all does not match naming convention team-a/.*',
    ],
    [
      'an SSM path outside the naming convention',
      { [NAMING]: '/team-a/.*' },
      { data: [{ path: '/team-b/' }] },
      'key name /team-b/ does not match naming convention /team-a/.*',
    ],
  ])('%s', (_, annotations, fields, expected) => {
    const enforced = _ === 'no annotation, enforced';
    expect(
      accessDenialReason(spec(fields), annotations, { ...settings, enforceNamespaceAnnotations: enforced }),
    ).toBe(expected);
  });

  it('checks vaultRole for Vault', () => {
    const vault = normalizeSpec({
      metadata: { name: 'es' },
      spec: { backendType: 'vault', vaultRole: 'admin', data: [{ key: 'secret/data/a', name: 'a' }] },
    });
    expect(accessDenialReason(vault, { [ROLE]: 'reader' }, settings)).toBe(
      `namespace does not allow to assume role admin (${ROLE}: reader)`,
    );
    expect(accessDenialReason(vault, { [ROLE]: 'admin|reader' }, settings)).toBeUndefined();
  });
});
