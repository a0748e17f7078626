import { CONTROLLER_NAME } from '../domain/controller-name.js';

/** The ExternalSecret API this controller serves (KES's group, version and names). */
export const EXTERNAL_SECRET_GROUP = 'kubernetes-client.io';
export const EXTERNAL_SECRET_VERSION = 'v1';
export const EXTERNAL_SECRET_PLURAL = 'externalsecrets';
export const EXTERNAL_SECRET_KIND = 'ExternalSecret';
export const EXTERNAL_SECRET_CRD_NAME = `${EXTERNAL_SECRET_PLURAL}.${EXTERNAL_SECRET_GROUP}`;

/** Injection token of the loaded `KubeConfig`. */
export const KUBE_CONFIG = 'kes:kube-config';

/** Field manager of this controller's writes (server-side apply ownership). */
export const FIELD_MANAGER = CONTROLLER_NAME;
