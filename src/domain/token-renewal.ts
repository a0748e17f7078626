/**
 * When a Vault token obtained at `obtainedAt`, valid for `leaseMs`, is due for renewal: `thresholdMs` before it
 * expires (VAULT_TOKEN_RENEW_THRESHOLD, by default three poll intervals as in KES), but never before half its
 * life. Without the cap a threshold longer than the token's TTL (three 1 h intervals against a 10 min token)
 * makes every token due at once: the controller logged in again for nearly every read (1,978 logins in one
 * restart pass at 50,000 objects).
 */
export function tokenRenewalDueAt(obtainedAt: number, leaseMs: number, thresholdMs: number): number {
  return obtainedAt + leaseMs - Math.min(thresholdMs, leaseMs / 2);
}

/**
 * Whether a renewal granted too little to keep renewing: under half the TTL the login gave, the token is near
 * its max TTL and a fresh login is due (renewing would only halve the time left, again and again).
 */
export function renewalNearMaxTtl(grantedMs: number, loginTtlMs: number): boolean {
  return grantedMs < loginTtlMs / 2;
}
