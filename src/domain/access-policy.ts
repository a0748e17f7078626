import type { NormalizedSpec } from './normalize-spec.js';

export interface AccessPolicySettings {
  readonly rolePermittedAnnotation: string;
  readonly namingPermittedAnnotation: string;
  readonly enforceNamespaceAnnotations: boolean;
}

/**
 * KES's namespace-annotation policy, with its patterns anchored: a pattern must match the whole role or key
 * (KES's substring test let `role/team-a` permit `role/team-a-admin`). Returns the reason for a denial, or
 * undefined when the ExternalSecret may fetch what it asks for.
 */
export function accessDenialReason(
  spec: NormalizedSpec,
  namespaceAnnotations: Readonly<Record<string, string>> | undefined,
  settings: AccessPolicySettings,
): string | undefined {
  const annotations = namespaceAnnotations ?? {};

  const role = spec.backendType === 'vault' ? spec.vaultRole : spec.roleArn;
  if (role !== undefined) {
    const denial = checkPattern(
      annotations,
      settings.rolePermittedAnnotation,
      settings,
      [role],
      (pattern) =>
        `namespace does not allow to assume role ${role} (${settings.rolePermittedAnnotation}: ${pattern})`,
    );
    if (denial) return denial;
  }

  const keys = spec.sources.map((source) => (source.kind === 'path' ? source.path : source.key));
  return checkPattern(
    annotations,
    settings.namingPermittedAnnotation,
    settings,
    keys,
    (pattern, key) => `key name ${key} does not match naming convention ${pattern}`,
  );
}

function checkPattern(
  annotations: Readonly<Record<string, string>>,
  annotation: string,
  settings: AccessPolicySettings,
  values: readonly string[],
  deny: (pattern: string, value: string) => string,
): string | undefined {
  const pattern = annotations[annotation];
  if (pattern === undefined) {
    return settings.enforceNamespaceAnnotations && values.length > 0
      ? `namespace has no ${annotation} annotation and ENFORCE_NAMESPACE_ANNOTATIONS is set`
      : undefined;
  }
  let anchored: RegExp;
  try {
    anchored = new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    return `namespace annotation ${annotation} is not a valid regular expression`;
  }
  const refused = values.find((value) => !anchored.test(value));
  return refused === undefined ? undefined : deny(pattern, refused);
}
