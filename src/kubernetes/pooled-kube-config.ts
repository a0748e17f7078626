import { CONTROLLER_NAME } from '../domain/controller-name.js';
import {
  createConfiguration,
  KubeConfig,
  ServerConfiguration,
  setHeaderMiddleware,
  type ApiConstructor,
  type ApiType,
  type RequestContext,
} from '@kubernetes/client-node';

/**
 * Names the controller in the API server's audit log (and its logs of slow requests), instead of
 * client-node's generic `kubernetes-client-javascript/<version>` that every Node.js client sends.
 */
export const CONTROLLER_USER_AGENT = CONTROLLER_NAME;

/**
 * A KubeConfig whose requests share one connection pool and carry the controller's User-Agent.
 *
 * client-node 2.x builds a new undici Agent (with its own TLS context and connections) for every request it
 * authenticates; a controller sending thousands of writes then pays a TLS handshake per write and fragments
 * native memory (the benchmark measured hundreds of MiB of resident memory). The TLS settings of a kubeconfig
 * do not change while it is loaded, so the first Agent serves every later request; tokens travel as headers,
 * unaffected.
 */
export class PooledKubeConfig extends KubeConfig {
  private sharedDispatcher: ReturnType<RequestContext['getDispatcher']>;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // Watches are sent with these headers as they are; API clients set theirs again in makeApiClient.
    context.setHeaderParam('User-Agent', CONTROLLER_USER_AGENT);
    const created = context.getDispatcher();
    if (created === undefined) return;
    this.sharedDispatcher ??= created;
    if (created !== this.sharedDispatcher) context.setDispatcher(this.sharedDispatcher);
  }

  /**
   * As KubeConfig.makeApiClient, whose header middleware runs after authentication and sets its own agent.
   * `requestTimeoutMs` aborts a request that has no complete answer in time: undici's own limits are five
   * minutes, and a caller with a deadline (leader election) must learn of a dead connection before it.
   */
  override makeApiClient<T extends ApiType>(
    apiClientType: ApiConstructor<T>,
    options: { readonly requestTimeoutMs?: number } = {},
  ): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    const { requestTimeoutMs } = options;
    return new apiClientType(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: this },
        middleware: [setHeaderMiddleware('User-Agent', CONTROLLER_USER_AGENT)],
        promiseMiddleware:
          requestTimeoutMs === undefined
            ? []
            : [
                {
                  pre: (request) => {
                    request.setSignal(AbortSignal.timeout(requestTimeoutMs));
                    return Promise.resolve(request);
                  },
                  post: (response) => Promise.resolve(response),
                },
              ],
      }),
    );
  }
}
