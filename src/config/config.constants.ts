/** The injection token of the typed configuration (`ControllerConfig`), validated once at boot. */
export const CONTROLLER_CONFIG = 'kes:controller-config';
