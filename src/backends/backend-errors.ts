/** Backend failure whose message is safe for status, events and logs; `transient` ones are retried with backoff. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

const CREDENTIAL_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b/g, '[access-key-id]'],
  [/\b(?:request[ -]?id|requestid|x-amzn-requestid)\s*[:=]?\s*[\w-]+/gi, '[request-id]'],
  [/\b[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}\b/gi, '[id]'],
  [/\b(?:hvs|hvb|s|b)\.[A-Za-z0-9]{20,}\b/g, '[token]'],
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]+/g, '[jwt]'],
  [/(Signature|Credential|X-Amz-Security-Token|token)=[^&\s]+/gi, '$1=[redacted]'],
];

/** Strips credentials, tokens and request ids from a backend's error text, and bounds its length. */
export function sanitizeErrorText(text: string): string {
  let cleaned = text;
  for (const [pattern, replacement] of CREDENTIAL_PATTERNS) cleaned = cleaned.replace(pattern, replacement);
  return cleaned.length > 300 ? `${cleaned.slice(0, 300)}…` : cleaned;
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'ThrottledException',
  'RequestLimitExceeded',
  'InternalServiceError',
  'InternalServiceErrorException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
]);

/** Turns an SDK or network error into a BackendError with a sanitised message. */
export function toBackendError(error: unknown, what: string): BackendError {
  if (error instanceof BackendError) return error;
  // A rejection can carry anything, even null (an extension backend's defect): read its fields defensively.
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    response?: { statusCode?: number };
  };
  const name = fields.name ?? 'Error';
  const code = fields.code;
  // The AWS SDK's HTTP status, or node-vault's (a sealed or overloaded Vault answers 5xx or 429).
  const status = fields.$metadata?.httpStatusCode ?? fields.response?.statusCode;
  const message = error instanceof Error ? error.message : String(error);
  const network = code !== undefined && /^E[A-Z]+$/.test(code);
  const transient =
    network || TRANSIENT_NAMES.has(name) || (status !== undefined && (status >= 500 || status === 429));
  const reason = network
    ? `${code} (backend unreachable)`
    : `${name}: ${message}${status !== undefined ? ` (HTTP ${status})` : ''}`;
  return new BackendError(sanitizeErrorText(`${what} failed: ${reason}`), transient);
}
