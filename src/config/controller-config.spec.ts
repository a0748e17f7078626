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
});
