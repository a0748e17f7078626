import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/controller-config.js';
import { createOutboundAgents, proxyEnvironment } from './outbound-agents.service.js';

describe('proxyEnvironment: what the outbound agents are told', () => {
  it.each([
    ['no proxy', {}, {}],
    [
      'HTTP_PROXY only: both schemes through it',
      { HTTP_PROXY: 'http://proxy:3128' },
      { HTTP_PROXY: 'http://proxy:3128', HTTPS_PROXY: 'http://proxy:3128' },
    ],
    [
      'HTTPS_PROXY only: http:// URLs direct',
      { https_proxy: 'http://proxy:3128', NO_PROXY: '10.0.0.1,.svc' },
      { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '10.0.0.1,.svc' },
    ],
  ])('%s', (_case, env, expected) => {
    expect(proxyEnvironment(loadConfig(env).proxy)).toEqual(expected);
  });

  it('gives agents the SDK defaults (keep-alive, 50 sockets) and the proxy environment', () => {
    const agents = createOutboundAgents(loadConfig({ HTTP_PROXY: 'http://proxy:3128' }).proxy);
    for (const agent of [agents.http, agents.https]) {
      expect(agent.maxSockets).toBe(50);
      expect((agent as unknown as { keepAlive: boolean }).keepAlive).toBe(true);
      expect((agent as unknown as { options: { proxyEnv?: unknown } }).options.proxyEnv).toEqual({
        HTTP_PROXY: 'http://proxy:3128',
        HTTPS_PROXY: 'http://proxy:3128',
      });
    }
  });
});
