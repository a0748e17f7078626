import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Inject, Injectable } from '@nestjs/common';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig, ProxySettings } from '../config/controller-config.js';

/** The connection pools of every outbound AWS, STS and Vault call. */
export interface OutboundAgents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

/**
 * What Node.js's own proxy support (`proxyEnv` of an Agent, Node ≥ 24.5) is given: HTTP_PROXY for http://
 * URLs, HTTPS_PROXY for https:// URLs (CONNECT tunnels), NO_PROXY to go direct. Empty: no proxy.
 */
export function proxyEnvironment(proxy: ProxySettings): Record<string, string> {
  const environment: Record<string, string> = {};
  if (proxy.httpProxy) environment.HTTP_PROXY = proxy.httpProxy;
  if (proxy.httpsProxy) environment.HTTPS_PROXY = proxy.httpsProxy;
  if (proxy.noProxy) environment.NO_PROXY = proxy.noProxy;
  return environment;
}

/**
 * Agents with the AWS SDK's own defaults (keep-alive, 50 sockets per host) that send through the configured
 * forward proxy. Always given (also without a proxy, as an empty proxy environment), so that no client falls
 * back to its own reading of the process environment and the decision is made in one place.
 */
export function createOutboundAgents(proxy: ProxySettings): OutboundAgents {
  const proxyEnv = proxyEnvironment(proxy);
  const options = { keepAlive: true, maxSockets: 50, proxyEnv };
  return { http: new HttpAgent(options), https: new HttpsAgent(options) };
}

/** The process's outbound agents, shared by every AWS client and Vault session (one pool per host). */
@Injectable()
export class OutboundHttp implements OutboundAgents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;

  constructor(@Inject(CONTROLLER_CONFIG) config: ControllerConfig) {
    ({ http: this.http, https: this.https } = createOutboundAgents(config.proxy));
  }
}
