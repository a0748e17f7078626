import { hostname } from 'node:os';
// zod's functional build: the same validation as the chained API, at a tenth of its code (README "Memory").
import * as z from 'zod/mini';
import { CONTROLLER_NAME } from '../domain/controller-name.js';
import { DELETION_POLICIES } from '../domain/normalize-spec.js';

const text = () => z.string().check(z.trim());
/** Empty (after trimming) becomes unset. */
const blankAsUnset = () =>
  z.pipe(
    text(),
    z.transform((value: string) => value || undefined),
  );
const wholeNumber = (...checks: Array<z.core.$ZodCheck<number>>) =>
  z.coerce.number().check(z.multipleOf(1, 'must be a whole number'), ...checks);

/** Environment variables that read as booleans: KES treated any non-empty value except "false"/"0" as on. */
const flag = z.pipe(
  text(),
  z.transform((value: string) => value !== '' && !['false', '0', 'no', 'off'].includes(value.toLowerCase())),
);

const positiveMilliseconds = wholeNumber(z.positive());
const port = wholeNumber(z.minimum(1), z.maximum(65535));
const nonEmptyText = () => z.string().check(z.trim(), z.minLength(1));
const optionalText = z.optional(blankAsUnset());
const optionalUrl = z.optional(z.pipe(blankAsUnset(), z.optional(z.url())));
/** A forward proxy: Node.js's own proxy support speaks to http:// and https:// proxies. */
const proxyUrl = z.optional(
  z.pipe(
    blankAsUnset(),
    z.optional(
      z
        .url()
        .check(z.refine((value) => /^https?:\/\//i.test(value), 'must be an http:// or https:// proxy URL')),
    ),
  ),
);
const commaList = z.pipe(
  z.string(),
  z.transform((value: string) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ),
);

/**
 * The controller's environment, with KES's variable names and defaults. Parsed once at boot; an invalid
 * value stops the process with one message that lists every problem.
 */
const environmentSchema = z.object({
  POLLER_INTERVAL_MILLISECONDS: z._default(positiveMilliseconds, 10_000),
  DISABLE_POLLING: z._default(flag, false),
  WATCH_TIMEOUT: z._default(positiveMilliseconds, 60_000),
  WATCHED_NAMESPACES: z._default(commaList, []),
  INSTANCE_ID: z._default(text(), ''),
  LOG_LEVEL: z._default(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), 'info'),
  LOG_MESSAGE_KEY: z._default(nonEmptyText(), 'msg'),
  USE_HUMAN_READABLE_LOG_LEVELS: z._default(flag, false),
  LOG_BASE_PID_KEY: z._default(nonEmptyText(), 'pid'),
  LOG_BASE_HOSTNAME_KEY: z._default(nonEmptyText(), 'hostname'),
  /** `kes`: KES's line (`message_time`, fields nested under `payload`); `flat`: pino's `time`, fields at the top. */
  LOG_FORMAT: z._default(z.enum(['kes', 'flat']), 'kes'),
  METRICS_PORT: z._default(port, 3001),
  ROLE_PERMITTED_ANNOTATION: z._default(nonEmptyText(), 'iam.amazonaws.com/permitted'),
  NAMING_PERMITTED_ANNOTATION: z._default(
    nonEmptyText(),
    'externalsecrets.kubernetes-client.io/permitted-key-name',
  ),
  ENFORCE_NAMESPACE_ANNOTATIONS: z._default(flag, false),
  VAULT_ADDR: optionalUrl,
  VAULT_NAMESPACE: optionalText,
  /** A Vault token used as it is, instead of Kubernetes auth (the `kes` command line, or a dev setup). */
  VAULT_TOKEN: optionalText,
  VAULT_TOKEN_RENEW_THRESHOLD: z.optional(wholeNumber(z.positive())),
  DEFAULT_VAULT_MOUNT_POINT: optionalText,
  DEFAULT_VAULT_ROLE: optionalText,
  SERVICE_ACCOUNT_TOKEN_PATH: z._default(
    nonEmptyText(),
    '/var/run/secrets/kubernetes.io/serviceaccount/token',
  ),
  AWS_REGION: z._default(text(), 'us-west-2'),
  AWS_INTERMEDIATE_ROLE_ARN: optionalText,
  // KES's default: regional STS endpoints (sts.<region>.amazonaws.com); legacy: the global sts.amazonaws.com.
  AWS_STS_ENDPOINT_TYPE: z._default(z.enum(['regional', 'legacy']), 'regional'),
  // STS accepts 900–43200 (capped by the role's maximum); emulators accept less, which tests use.
  AWS_ASSUME_ROLE_DURATION_SECONDS: z._default(wholeNumber(z.positive()), 3600),
  AWS_SM_ENDPOINT: optionalUrl,
  AWS_SSM_ENDPOINT: optionalUrl,
  AWS_STS_ENDPOINT: optionalUrl,
  // The SDK's own endpoint variables, read here only so that STS knows an endpoint was configured.
  AWS_ENDPOINT_URL: optionalUrl,
  AWS_ENDPOINT_URL_STS: optionalUrl,
  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: z._default(flag, false),
  // KES's development switch: every AWS service at LocalStack (or moto), each URL defaulting to :4566.
  LOCALSTACK: z._default(flag, false),
  LOCALSTACK_SM_URL: optionalUrl,
  LOCALSTACK_SSM_URL: optionalUrl,
  LOCALSTACK_STS_URL: optionalUrl,
  // Outbound proxy of AWS, STS and Vault calls (not of the API server); lower-case forms as curl and KES's
  // HTTP library read them.
  HTTP_PROXY: proxyUrl,
  HTTPS_PROXY: proxyUrl,
  NO_PROXY: optionalText,
  http_proxy: proxyUrl,
  https_proxy: proxyUrl,
  no_proxy: optionalText,
  SHUTDOWN_TIMEOUT_MILLISECONDS: z._default(positiveMilliseconds, 20_000),
  KUBE_API_QPS: z._default(z.coerce.number().check(z.positive()), 100),
  KUBE_API_BURST: z._default(wholeNumber(z.positive()), 200),
  LEADER_ELECTION: z._default(flag, false),
  LEADER_ELECTION_NAMESPACE: z.optional(nonEmptyText()),
  LEADER_ELECTION_LEASE_NAME: z._default(nonEmptyText(), CONTROLLER_NAME),
  LEADER_ELECTION_LEASE_DURATION_MILLISECONDS: z._default(
    positiveMilliseconds.check(z.minimum(1000)),
    15_000,
  ),
  LEADER_ELECTION_RENEW_DEADLINE_MILLISECONDS: z._default(positiveMilliseconds, 10_000),
  LEADER_ELECTION_RETRY_PERIOD_MILLISECONDS: z._default(positiveMilliseconds, 2_000),
  /** What happens to a Secret when its ExternalSecret is deleted, for objects without spec.deletionPolicy. */
  DEFAULT_DELETION_POLICY: z._default(z.enum(DELETION_POLICIES), 'Delete'),
  /** Restarts of one workload asked for within this window are one restart (0: each change restarts). */
  ROLLOUT_RESTART_COALESCE_MILLISECONDS: z._default(wholeNumber(z.nonnegative()), 10_000),
  /** Secret types that make the cluster mint credentials are refused unless allowed (see README, security). */
  ALLOW_TOKEN_SECRET_TYPES: z._default(flag, false),
  POD_NAMESPACE: z.optional(nonEmptyText()),
  POD_NAME: z.optional(nonEmptyText()),
  /** Read by runController before the application exists; listed here so that it is documented with the rest. */
  EXTENSION_MODULES: z.optional(z.string()),
});

type Environment = z.output<typeof environmentSchema>;

/**
 * The typed configuration, as the schema's transform yields it: the names the code reads, grouped, with the
 * derived values (Vault's renew threshold, the endpoints LOCALSTACK implies, the proxy) computed once.
 */
function toConfig(env: Environment) {
  return {
    pollerIntervalMs: env.POLLER_INTERVAL_MILLISECONDS,
    pollingDisabled: env.DISABLE_POLLING,
    watchTimeoutMs: env.WATCH_TIMEOUT,
    /** Empty means every namespace. */
    watchedNamespaces: env.WATCHED_NAMESPACES as readonly string[],
    instanceId: env.INSTANCE_ID,
    logLevel: env.LOG_LEVEL,
    logMessageKey: env.LOG_MESSAGE_KEY,
    humanReadableLogLevels: env.USE_HUMAN_READABLE_LOG_LEVELS,
    /** Field names of the process id and host name on every log line (KES's LOG_BASE_PID_KEY / _HOSTNAME_KEY). */
    logBasePidKey: env.LOG_BASE_PID_KEY,
    logBaseHostnameKey: env.LOG_BASE_HOSTNAME_KEY,
    logFormat: env.LOG_FORMAT,
    metricsPort: env.METRICS_PORT,
    rolePermittedAnnotation: env.ROLE_PERMITTED_ANNOTATION,
    namingPermittedAnnotation: env.NAMING_PERMITTED_ANNOTATION,
    enforceNamespaceAnnotations: env.ENFORCE_NAMESPACE_ANNOTATIONS,
    /** Whether templates may ask for kubernetes.io/service-account-token and bootstrap.kubernetes.io/token. */
    allowTokenSecretTypes: env.ALLOW_TOKEN_SECRET_TYPES,
    vault: {
      address: env.VAULT_ADDR,
      namespace: env.VAULT_NAMESPACE,
      /** Used as it is, never renewed: no Kubernetes auth login (VAULT_TOKEN). */
      token: env.VAULT_TOKEN,
      /** Renew a token when less than this many milliseconds of its TTL remain (KES: three poll intervals). */
      tokenRenewThresholdMs:
        env.VAULT_TOKEN_RENEW_THRESHOLD !== undefined
          ? env.VAULT_TOKEN_RENEW_THRESHOLD * 1000
          : 3 * env.POLLER_INTERVAL_MILLISECONDS,
      defaultMountPoint: env.DEFAULT_VAULT_MOUNT_POINT,
      defaultRole: env.DEFAULT_VAULT_ROLE,
      /** The ServiceAccount token presented at Vault's Kubernetes auth; re-read at every login, so rotation works. */
      serviceAccountTokenPath: env.SERVICE_ACCOUNT_TOKEN_PATH,
    },
    aws: {
      region: env.AWS_REGION,
      intermediateRoleArn: env.AWS_INTERMEDIATE_ROLE_ARN,
      stsEndpointType: env.AWS_STS_ENDPOINT_TYPE,
      /** DurationSeconds of every AssumeRole: how long assumed-role credentials live. */
      assumeRoleDurationSeconds: env.AWS_ASSUME_ROLE_DURATION_SECONDS,
      ...awsEndpoints(env),
      /** AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL (the SDK applies it by itself; STS must know of it). */
      sdkStsEndpoint: env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
        ? undefined
        : (env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL),
    },
    /** The forward proxy of outbound AWS, STS and Vault calls; see proxySettings. */
    proxy: proxySettings(env),
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MILLISECONDS,
    /** Client-side budget of API-server writes per second (average) and burst. */
    kubeApiQps: env.KUBE_API_QPS,
    kubeApiBurst: env.KUBE_API_BURST,
    defaultDeletionPolicy: env.DEFAULT_DELETION_POLICY,
    rolloutRestartCoalesceMs: env.ROLLOUT_RESTART_COALESCE_MILLISECONDS,
    leaderElection: {
      enabled: env.LEADER_ELECTION,
      namespace: env.LEADER_ELECTION_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
      leaseName: env.LEADER_ELECTION_LEASE_NAME,
      /** The pod (or host) name; the elector adds a random suffix, so a restarted pod is a new candidate. */
      candidateName: env.POD_NAME ?? hostname(),
      leaseDurationMs: env.LEADER_ELECTION_LEASE_DURATION_MILLISECONDS,
      renewDeadlineMs: env.LEADER_ELECTION_RENEW_DEADLINE_MILLISECONDS,
      retryPeriodMs: env.LEADER_ELECTION_RETRY_PERIOD_MILLISECONDS,
    },
  };
}

/** Typed, validated configuration, injected as CONTROLLER_CONFIG wherever the controller needs a setting. */
export type ControllerConfig = ReturnType<typeof toConfig>;

const LOCALSTACK_DEFAULT_URL = 'http://localhost:4566';

/**
 * Endpoint overrides. With LOCALSTACK on, KES pointed every service at LOCALSTACK_<service>_URL (default
 * http://localhost:4566) whatever AWS_<service>_ENDPOINT said; so does this.
 */
function awsEndpoints(env: Environment) {
  if (env.LOCALSTACK) {
    return {
      secretsManagerEndpoint: env.LOCALSTACK_SM_URL ?? LOCALSTACK_DEFAULT_URL,
      ssmEndpoint: env.LOCALSTACK_SSM_URL ?? LOCALSTACK_DEFAULT_URL,
      stsEndpoint: env.LOCALSTACK_STS_URL ?? LOCALSTACK_DEFAULT_URL,
    };
  }
  return {
    secretsManagerEndpoint: env.AWS_SM_ENDPOINT,
    ssmEndpoint: env.AWS_SSM_ENDPOINT,
    stsEndpoint: env.AWS_STS_ENDPOINT,
  };
}

/** Which forward proxy outbound calls use, by the scheme of the URL called; NO_PROXY as Node.js reads it. */
export interface ProxySettings {
  readonly httpProxy?: string;
  readonly httpsProxy?: string;
  readonly noProxy?: string;
}

/**
 * Upper-case variables win over lower-case ones. An https:// URL (every AWS endpoint) goes through
 * HTTPS_PROXY, else HTTP_PROXY: KES sent every AWS call through HTTP_PROXY, and its HTTP library
 * (request) fell back to HTTP_PROXY for https:// URLs too.
 */
export function proxySettings(env: {
  HTTP_PROXY?: string;
  HTTPS_PROXY?: string;
  NO_PROXY?: string;
  http_proxy?: string;
  https_proxy?: string;
  no_proxy?: string;
}): ProxySettings {
  const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
  return {
    httpProxy,
    httpsProxy: env.HTTPS_PROXY ?? env.https_proxy ?? httpProxy,
    noProxy: env.NO_PROXY ?? env.no_proxy,
  };
}

/** Thrown when the environment is invalid; the message lists every problem, one per line. */
export class InvalidConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'InvalidConfigurationError';
  }
}

/** A value as it may be shown: the user and password of a URL (e.g. a proxy's) replaced by `***`. */
export function withoutUrlCredentials(value: string | undefined): string | undefined {
  return value?.replace(/\/\/[^/@\s]*@/g, '//***@');
}

/** Reads the configuration from environment variables; unset and empty variables take KES's defaults. */
export function loadConfig(env: NodeJS.ProcessEnv): ControllerConfig {
  const present = Object.fromEntries(
    Object.keys(environmentSchema.shape)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const result = environmentSchema
    .check(
      z.superRefine((env, context) => {
        const {
          LEADER_ELECTION_LEASE_DURATION_MILLISECONDS: lease,
          LEADER_ELECTION_RENEW_DEADLINE_MILLISECONDS: renew,
        } = env;
        if (renew >= lease) {
          context.addIssue({
            code: 'custom',
            path: ['LEADER_ELECTION_RENEW_DEADLINE_MILLISECONDS'],
            message: `must be shorter than LEADER_ELECTION_LEASE_DURATION_MILLISECONDS (${lease}), so a leader stops before another can take over`,
          });
        }
      }),
    )
    .safeParse(present);
  if (!result.success) {
    throw new InvalidConfigurationError(
      result.error.issues.map((issue) => {
        const variable = issue.path.join('.');
        return `${variable}=${JSON.stringify(withoutUrlCredentials(env[variable]))}: ${issue.message}`;
      }),
    );
  }
  return toConfig(result.data);
}
