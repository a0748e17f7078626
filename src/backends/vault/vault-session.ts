import { readFile } from 'node:fs/promises';
import type nodeVault from 'node-vault';
import type { ControllerMetrics } from '../../metrics/controller-metrics.service.js';
import { BackendError, sanitizeErrorText, toBackendError } from '../backend-errors.js';
import type { OutboundAgents } from '../outbound-agents.service.js';
import { renewalNearMaxTtl, tokenRenewalDueAt } from '../../domain/token-renewal.js';
import { loadOnce } from '../load-once.js';
import { vaultTransport } from './vault-transport.js';

/** node-vault (and the axios it requires) loads with the first Vault session: see aws-sdk-modules.ts. */
const nodeVaultModule = loadOnce(() => import('node-vault'));

/** How long one Vault request may take, connection included. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface VaultSessionOptions {
  readonly address: string;
  readonly namespace?: string;
  readonly mountPoint: string;
  readonly role: string;
  readonly serviceAccountTokenPath: string;
  /** Renew when less than this remains of the token's TTL. */
  readonly renewThresholdMs: number;
  /** A token to use as it is (VAULT_TOKEN): no login, no renewal; a 403 is the answer. */
  readonly staticToken?: string;
  /** Connection pools, with the forward proxy (HTTP_PROXY / HTTPS_PROXY / NO_PROXY) when one is set. */
  readonly agents: OutboundAgents;
}

/** An HTTP answer from Vault, as node-vault reports it. */
export function vaultStatusOf(error: unknown): number | undefined {
  return (error as { response?: { statusCode?: number } }).response?.statusCode;
}

/**
 * One Vault token for one (mount, role), shared by every ExternalSecret and cycle that reads through them.
 * Logs in with the ServiceAccount token (read from its file at each login, so rotated projected tokens keep
 * working), renews the token when its remaining TTL falls under the threshold, and logs in afresh when renewal
 * is refused, the token expired, or a read was denied. No lookup-self before reads, no revocation churn.
 */
export class VaultSession {
  private client: nodeVault.client | undefined;
  private token: string | undefined;
  private expiresAt = 0;
  /** When the token is due for renewal (see tokenRenewalDueAt). */
  private renewDueAt = 0;
  /** The TTL the last login granted: a renewal granting much less means the max TTL is near. */
  private loginTtlMs = 0;
  private renewable = false;
  private pendingLogin: Promise<void> | undefined;

  constructor(
    private readonly options: VaultSessionOptions,
    private readonly metrics: ControllerMetrics,
  ) {}

  /** The node-vault client, built when the session first talks to Vault. */
  private async vault(): Promise<nodeVault.client> {
    if (this.client) return this.client;
    const { default: createClient } = await nodeVaultModule();
    this.client ??= createClient({
      apiVersion: 'v1',
      endpoint: this.options.address,
      namespace: this.options.namespace,
      // node-vault's debug output includes request bodies (tokens); it stays off.
      debug: () => undefined,
      // node:http on the shared agents (keep-alive, the forward proxy) instead of node-vault's axios.
      'request-promise': vaultTransport(this.options.agents, REQUEST_TIMEOUT_MS),
    });
    if (this.options.staticToken) this.client.token = this.options.staticToken;
    return this.client;
  }

  /** Reads a logical path; one fresh login and retry when Vault answers 403 (e.g. a token past its max TTL). */
  async read(path: string): Promise<unknown> {
    if (this.options.staticToken) return this.readOnce(path);
    await this.ensureToken();
    try {
      return await this.readOnce(path);
    } catch (error) {
      if (vaultStatusOf(error) !== 403) throw error;
      this.token = undefined;
      this.expiresAt = 0;
      this.renewDueAt = 0;
      await this.ensureToken();
      return this.readOnce(path);
    }
  }

  private async readOnce(path: string): Promise<unknown> {
    try {
      const response: unknown = await (await this.vault()).read(path);
      this.metrics.recordBackendCall('vault', 'read', 'success');
      return response;
    } catch (error) {
      this.metrics.recordBackendCall('vault', 'read', 'error');
      throw error;
    }
  }

  private async ensureToken(): Promise<void> {
    if (this.token && Date.now() < this.renewDueAt) return;
    const remaining = this.expiresAt - Date.now();
    this.pendingLogin ??= (
      this.token && this.renewable && remaining > 1000 ? this.renewOrLogin() : this.login()
    ).finally(() => (this.pendingLogin = undefined));
    await this.pendingLogin;
  }

  private async renewOrLogin(): Promise<void> {
    try {
      const vault = await this.vault();
      const response = (await vault.tokenRenewSelf()) as VaultAuthResponse;
      this.metrics.recordBackendCall('vault', 'renew', 'success');
      const granted = this.adopt(vault, response);
      // A renewal capped by the token's max TTL grants less than the login did; under half of it, log in afresh.
      if (renewalNearMaxTtl(granted, this.loginTtlMs)) await this.login();
    } catch {
      this.metrics.recordBackendCall('vault', 'renew', 'error');
      await this.login();
    }
  }

  private async login(): Promise<void> {
    const { mountPoint, role, serviceAccountTokenPath } = this.options;
    let jwt: string;
    try {
      jwt = (await readFile(serviceAccountTokenPath, 'utf8')).trim();
    } catch (error) {
      throw new BackendError(
        `cannot read the ServiceAccount token for Vault login at ${serviceAccountTokenPath}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        true,
      );
    }
    try {
      const vault = await this.vault();
      const response = (await vault.kubernetesLogin({
        role,
        jwt,
        mount_point: mountPoint,
      })) as VaultAuthResponse;
      this.metrics.recordBackendCall('vault', 'login', 'success');
      this.loginTtlMs = this.adopt(vault, response);
    } catch (error) {
      this.metrics.recordBackendCall('vault', 'login', 'error');
      this.token = undefined;
      const status = vaultStatusOf(error);
      if (status !== undefined && status < 500) {
        throw new BackendError(
          sanitizeErrorText(
            `Vault login at auth/${mountPoint} as role ${role} denied (${status}): ${(error as Error).message}`,
          ),
          false,
        );
      }
      throw toBackendError(error, `Vault login at auth/${mountPoint}`);
    }
  }

  /** Takes the token of a login or renewal; returns the TTL granted, in ms. */
  private adopt(vault: nodeVault.client, response: VaultAuthResponse): number {
    const auth = response.auth;
    if (!auth?.client_token) throw new BackendError('Vault answered a login without a token', true);
    this.token = auth.client_token;
    vault.token = auth.client_token;
    this.renewable = auth.renewable === true;
    // A lease of 0 means no expiry (e.g. a root token): check again after an hour.
    const leaseMs = (auth.lease_duration || 3600) * 1000;
    const now = Date.now();
    this.expiresAt = now + leaseMs;
    this.renewDueAt = tokenRenewalDueAt(now, leaseMs, this.options.renewThresholdMs);
    return leaseMs;
  }
}

interface VaultAuthResponse {
  auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
}
