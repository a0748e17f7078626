import { describe, expect, it } from 'vitest';
import { InvalidConfigurationError, loadConfig } from './controller-config.js';

describe('loadConfig', () => {
  it('takes KES defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.pollerIntervalMs).toBe(10_000);
    expect(config.pollingDisabled).toBe(false);
    expect(config.watchTimeoutMs).toBe(60_000);
    expect(config.watchedNamespaces).toEqual([]);
    expect(config.instanceId).toBe('');
    expect(config.logLevel).toBe('info');
    expect(config.logMessageKey).toBe('msg');
    expect(config.metricsPort).toBe(3001);
    expect(config.rolePermittedAnnotation).toBe('iam.amazonaws.com/permitted');
    expect(config.namingPermittedAnnotation).toBe('externalsecrets.kubernetes-client.io/permitted-key-name');
    expect(config.enforceNamespaceAnnotations).toBe(false);
    expect(config.vault.tokenRenewThresholdMs).toBe(30_000);
  });

  it('reads every KES variable', () => {
    const config = loadConfig({
      POLLER_INTERVAL_MILLISECONDS: '5000',
      DISABLE_POLLING: 'true',
      WATCHED_NAMESPACES: ' team-a, team-b ,,',
      INSTANCE_ID: 'blue',
      LOG_LEVEL: 'debug',
      LOG_MESSAGE_KEY: 'message',
      USE_HUMAN_READABLE_LOG_LEVELS: '1',
      METRICS_PORT: '9102',
      ENFORCE_NAMESPACE_ANNOTATIONS: 'yes',
      VAULT_ADDR: 'https://vault.example:8200',
      VAULT_NAMESPACE: 'team',
      VAULT_TOKEN_RENEW_THRESHOLD: '60',
      DEFAULT_VAULT_MOUNT_POINT: 'kubernetes',
      DEFAULT_VAULT_ROLE: 'reader',
      AWS_REGION: 'eu-west-1',
      AWS_INTERMEDIATE_ROLE_ARN: 'arn:aws:iam::123456789012:role/hop',
      AWS_SM_ENDPOINT: 'http://127.0.0.1:4566',
    });
    expect(config.pollerIntervalMs).toBe(5000);
    expect(config.pollingDisabled).toBe(true);
    expect(config.watchedNamespaces).toEqual(['team-a', 'team-b']);
    expect(config.instanceId).toBe('blue');
    expect(config.logLevel).toBe('debug');
    expect(config.logMessageKey).toBe('message');
    expect(config.humanReadableLogLevels).toBe(true);
    expect(config.metricsPort).toBe(9102);
    expect(config.enforceNamespaceAnnotations).toBe(true);
    expect(config.vault).toEqual({
      address: 'https://vault.example:8200',
      namespace: 'team',
      tokenRenewThresholdMs: 60_000,
      defaultMountPoint: 'kubernetes',
      defaultRole: 'reader',
      serviceAccountTokenPath: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
    expect(config.aws.region).toBe('eu-west-1');
    expect(config.aws.intermediateRoleArn).toBe('arn:aws:iam::123456789012:role/hop');
    expect(config.aws.secretsManagerEndpoint).toBe('http://127.0.0.1:4566');
  });

  it.each([
    ['false', false],
    ['0', false],
    ['off', false],
    ['true', true],
    ['anything', true],
  ])('reads DISABLE_POLLING=%s as %s', (value, expected) => {
    expect(loadConfig({ DISABLE_POLLING: value }).pollingDisabled).toBe(expected);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ METRICS_PORT: '', VAULT_ADDR: '' }).metricsPort).toBe(3001);
  });

  it('lists every problem at once', () => {
    let thrown: unknown;
    try {
      loadConfig({
        POLLER_INTERVAL_MILLISECONDS: 'often',
        METRICS_PORT: '70000',
        LOG_LEVEL: 'loud',
        VAULT_ADDR: 'not a url',
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidConfigurationError);
    const problems = (thrown as InvalidConfigurationError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/POLLER_INTERVAL_MILLISECONDS="often"/);
    expect(problems.join('\n')).toMatch(/METRICS_PORT="70000"/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL="loud"/);
    expect(problems.join('\n')).toMatch(/VAULT_ADDR="not a url"/);
    expect((thrown as Error).message.split('\n')[0]).toBe('invalid configuration:');
  });

  it('uses regional STS endpoints unless AWS_STS_ENDPOINT_TYPE=legacy, as KES', () => {
    expect(loadConfig({}).aws.stsEndpointType).toBe('regional');
    expect(loadConfig({ AWS_STS_ENDPOINT_TYPE: 'legacy' }).aws.stsEndpointType).toBe('legacy');
    expect(() => loadConfig({ AWS_STS_ENDPOINT_TYPE: 'global' })).toThrow(/AWS_STS_ENDPOINT_TYPE="global"/);
  });

  it.each([
    [{ AWS_ENDPOINT_URL: 'http://all:1' }, 'http://all:1'],
    [{ AWS_ENDPOINT_URL: 'http://all:1', AWS_ENDPOINT_URL_STS: 'http://sts:2' }, 'http://sts:2'],
    [{ AWS_ENDPOINT_URL: 'http://all:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }, undefined],
  ])("notes the SDK's STS endpoint from %o", (env, expected) => {
    expect(loadConfig(env).aws.sdkStsEndpoint).toBe(expected);
  });

  it.each([
    [
      'no overrides',
      {},
      { secretsManagerEndpoint: undefined, ssmEndpoint: undefined, stsEndpoint: undefined },
    ],
    [
      'per-service overrides',
      { AWS_SM_ENDPOINT: 'http://sm:1', AWS_SSM_ENDPOINT: 'http://ssm:2', AWS_STS_ENDPOINT: 'http://sts:3' },
      { secretsManagerEndpoint: 'http://sm:1', ssmEndpoint: 'http://ssm:2', stsEndpoint: 'http://sts:3' },
    ],
    [
      'LOCALSTACK alone: everything at :4566',
      { LOCALSTACK: '1' },
      {
        secretsManagerEndpoint: 'http://localhost:4566',
        ssmEndpoint: 'http://localhost:4566',
        stsEndpoint: 'http://localhost:4566',
      },
    ],
    [
      'LOCALSTACK URLs win over AWS_*_ENDPOINT, as KES',
      {
        LOCALSTACK: 'true',
        LOCALSTACK_SM_URL: 'http://127.0.0.1:6566',
        LOCALSTACK_SSM_URL: 'http://127.0.0.1:6567',
        LOCALSTACK_STS_URL: 'http://127.0.0.1:6568',
        AWS_SM_ENDPOINT: 'http://sm:1',
      },
      {
        secretsManagerEndpoint: 'http://127.0.0.1:6566',
        ssmEndpoint: 'http://127.0.0.1:6567',
        stsEndpoint: 'http://127.0.0.1:6568',
      },
    ],
    [
      'LOCALSTACK_* URLs without LOCALSTACK: ignored, as KES',
      { LOCALSTACK_SM_URL: 'http://127.0.0.1:6566', AWS_SM_ENDPOINT: 'http://sm:1' },
      { secretsManagerEndpoint: 'http://sm:1', ssmEndpoint: undefined, stsEndpoint: undefined },
    ],
    [
      'LOCALSTACK=false: off',
      { LOCALSTACK: 'false' },
      { secretsManagerEndpoint: undefined, ssmEndpoint: undefined, stsEndpoint: undefined },
    ],
  ])('AWS endpoints with %s', (_case, env, expected) => {
    expect(loadConfig(env).aws).toMatchObject(expected);
  });

  it.each([
    ['nothing', {}, { httpProxy: undefined, httpsProxy: undefined, noProxy: undefined }],
    [
      'HTTP_PROXY alone: also for https:// (KES sent every AWS call through it)',
      { HTTP_PROXY: 'http://proxy:3128' },
      { httpProxy: 'http://proxy:3128', httpsProxy: 'http://proxy:3128', noProxy: undefined },
    ],
    [
      'HTTPS_PROXY for https://, HTTP_PROXY for http://, NO_PROXY',
      { HTTP_PROXY: 'http://a:1', HTTPS_PROXY: 'http://b:2', NO_PROXY: '.svc,10.0.0.1' },
      { httpProxy: 'http://a:1', httpsProxy: 'http://b:2', noProxy: '.svc,10.0.0.1' },
    ],
    [
      'lower-case forms',
      { http_proxy: 'http://a:1', https_proxy: 'https://b:2', no_proxy: 'localhost' },
      { httpProxy: 'http://a:1', httpsProxy: 'https://b:2', noProxy: 'localhost' },
    ],
    [
      'upper case wins',
      { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2', NO_PROXY: 'a', no_proxy: 'b' },
      { httpProxy: undefined, httpsProxy: 'http://upper:1', noProxy: 'a' },
    ],
    ['empty: no proxy', { HTTP_PROXY: '' }, { httpProxy: undefined, httpsProxy: undefined }],
  ])('proxy settings from %s', (_case, env, expected) => {
    expect(loadConfig(env).proxy).toMatchObject(expected);
  });

  it('refuses a proxy that is not an http:// or https:// URL', () => {
    let thrown: unknown;
    try {
      loadConfig({ HTTPS_PROXY: 'socks5://proxy:1080', HTTP_PROXY: 'proxy:3128' });
    } catch (error) {
      thrown = error;
    }
    expect((thrown as InvalidConfigurationError).problems).toEqual([
      'HTTP_PROXY="proxy:3128": must be an http:// or https:// proxy URL',
      'HTTPS_PROXY="socks5://proxy:1080": must be an http:// or https:// proxy URL',
    ]);
  });

  it("reads KES's log settings", () => {
    const defaults = loadConfig({});
    expect([defaults.logBasePidKey, defaults.logBaseHostnameKey, defaults.logFormat]).toEqual([
      'pid',
      'hostname',
      'kes',
    ]);
    const set = loadConfig({ LOG_BASE_PID_KEY: 'p', LOG_BASE_HOSTNAME_KEY: 'h', LOG_FORMAT: 'flat' });
    expect([set.logBasePidKey, set.logBaseHostnameKey, set.logFormat]).toEqual(['p', 'h', 'flat']);
  });
});

describe('configuration errors', () => {
  it('never show the credentials of a URL', () => {
    expect(() => loadConfig({ HTTPS_PROXY: 'socks5://user:s3cret@proxy.example:1080' })).toThrow(
      'HTTPS_PROXY="socks5://***@proxy.example:1080"',
    );
    try {
      loadConfig({ HTTPS_PROXY: 'socks5://user:s3cret@proxy.example:1080' });
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cret');
    }
  });
});
