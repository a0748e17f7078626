/** Injection token of the process's pino logger. */
export const LOGGER = 'kes:logger';
