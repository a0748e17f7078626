import type { V1ObjectMeta } from '@kubernetes/client-node';

/** A `data[]` item as users write it: a remote key into a Secret key, or an SSM path scrape. */
export interface RawDataItem {
  key?: string;
  name?: string;
  property?: string;
  isBinary?: boolean;
  versionStage?: string;
  versionId?: string;
  path?: string;
  recursive?: boolean;
}

export interface RawDataFromWithOptions {
  key?: string;
  isBinary?: boolean;
  versionStage?: string;
  versionId?: string;
}

/** `spec` (or the deprecated top-level `secretDescriptor`) as stored by the API server. */
export interface RawExternalSecretSpec {
  backendType?: string;
  controllerId?: string;
  region?: string;
  roleArn?: string;
  vaultMountPoint?: string;
  vaultRole?: string;
  kvVersion?: number;
  type?: string;
  template?: Record<string, unknown>;
  data?: RawDataItem[];
  dataFrom?: string[];
  dataFromWithOptions?: RawDataFromWithOptions[];
  /** How often the values are refreshed: a Go duration (`30s`, `1h30m`), `0` never; unset the controller's. */
  refreshInterval?: string;
  /** Delete (the owner reference garbage-collects the Secret with its ExternalSecret) or Retain. */
  deletionPolicy?: string;
  /** Workloads restarted when the Secret's data changes (VSO's field). */
  rolloutRestartTargets?: { kind?: string; name?: string }[];
}

export interface ExternalSecretCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface ExternalSecretStatus {
  lastSync?: string;
  status?: string;
  observedGeneration?: number;
  conditions?: ExternalSecretCondition[];
  /** The last SYNC_REQUEST_ANNOTATION value a sync answered (`kes sync` waits for it). */
  syncRequest?: string;
}

/** The ExternalSecret resource (`kubernetes-client.io/v1`). */
export interface ExternalSecret {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: RawExternalSecretSpec;
  /** Deprecated name of `spec`, still honoured. */
  secretDescriptor?: RawExternalSecretSpec;
  status?: ExternalSecretStatus;
}
