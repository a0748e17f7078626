/** Injection token of the list of registered secret backends (one strategy per `backendType`). */
export const SECRET_BACKENDS = 'kes:secret-backends';
