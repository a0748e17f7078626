/**
 * The controller's name, as KES's: its field manager, User-Agent, managed-by label value, STS session name
 * and default Lease name. One source, since tools and audit queries match on it.
 */
export const CONTROLLER_NAME = 'kubernetes-external-secrets';
