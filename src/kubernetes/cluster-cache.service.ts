import { Inject, Injectable } from '@nestjs/common';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type V1Namespace,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';
import { ProbeRegistry } from '../health/probe-registry.service.js';
import { LOGGER } from '../logging/logging.constants.js';
import { ControllerMetrics } from '../metrics/controller-metrics.service.js';
import type { ExternalSecret } from '../domain/external-secret.js';
import { digestSecretData, MANAGED_LABEL, MANAGED_LABEL_VALUE } from '../domain/secret-manifest.js';
import {
  EXTERNAL_SECRET_GROUP,
  EXTERNAL_SECRET_PLURAL,
  EXTERNAL_SECRET_VERSION,
  KUBE_CONFIG,
} from './kubernetes.constants.js';
import { withoutManagedFields } from './activity-watch.js';
import { apiCall } from './api-errors.js';
import { ResilientInformer } from './resilient-informer.js';

/** What the sync layer hears from the informers; handlers only enqueue keys. */
export interface ClusterEventListener {
  externalSecretAdded(externalSecret: ExternalSecret): void;
  externalSecretUpdated(externalSecret: ExternalSecret): void;
  externalSecretDeleted(externalSecret: ExternalSecret): void;
  namespaceChanged(namespace: V1Namespace): void;
  managedSecretChanged(secret: V1Secret): void;
  managedSecretDeleted(secret: V1Secret): void;
}

/**
 * The controller's view of the cluster, from informers: ExternalSecrets, Namespaces (for the policy
 * annotations) and only the Secrets this controller manages (label-selected), all namespaces or one informer
 * per WATCHED_NAMESPACES entry. Nothing else is cached, so memory follows the ExternalSecrets.
 */
@Injectable()
export class ClusterCache {
  private readonly externalSecrets: ResilientInformer<ExternalSecret>[] = [];
  private readonly managedSecrets: ResilientInformer<V1Secret>[] = [];
  private namespaces: ResilientInformer<V1Namespace> | undefined;
  private listener: ClusterEventListener | undefined;

  constructor(
    @Inject(KUBE_CONFIG) private readonly kubeConfig: KubeConfig,
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly probes: ProbeRegistry,
    private readonly metrics: ControllerMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async start(listener: ClusterEventListener): Promise<void> {
    this.listener = listener;
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    const customObjects = this.kubeConfig.makeApiClient(CustomObjectsApi);
    const selector = `${MANAGED_LABEL}=${MANAGED_LABEL_VALUE}`;
    // A watch down for longer than this fails /healthz (a restart of the pod may help).
    const stallMs = 2 * this.config.watchTimeoutMs;
    const scopes: Array<string | undefined> = this.config.watchedNamespaces.length
      ? [...this.config.watchedNamespaces]
      : [undefined];
    const informer = <T extends ExternalSecret | V1Secret | V1Namespace>(
      name: string,
      path: string,
      list: () => Promise<KubernetesListObject<T>>,
      labelSelector: string | undefined,
      handlers: ConstructorParameters<typeof ResilientInformer<T>>[5],
      prepare?: (object: T) => T,
    ) => {
      const created = new ResilientInformer<T>(
        name,
        this.kubeConfig,
        path,
        list,
        labelSelector,
        handlers,
        this.logger,
        stallMs,
        () => this.metrics.informerRestarts.inc({ informer: name }),
        prepare,
      );
      this.probes.register(`informer:${name}`, created);
      return created;
    };

    this.namespaces = informer<V1Namespace>(
      'namespaces',
      '/api/v1/namespaces',
      () => apiCall('list namespaces', () => core.listNamespace()),
      undefined,
      {
        onAdd: (namespace) => this.listener?.namespaceChanged(namespace),
        onUpdate: (namespace) => this.listener?.namespaceChanged(namespace),
      },
    );
    for (const namespace of scopes) {
      const esPath = namespace
        ? `/apis/${EXTERNAL_SECRET_GROUP}/${EXTERNAL_SECRET_VERSION}/namespaces/${namespace}/${EXTERNAL_SECRET_PLURAL}`
        : `/apis/${EXTERNAL_SECRET_GROUP}/${EXTERNAL_SECRET_VERSION}/${EXTERNAL_SECRET_PLURAL}`;
      const group = {
        group: EXTERNAL_SECRET_GROUP,
        version: EXTERNAL_SECRET_VERSION,
        plural: EXTERNAL_SECRET_PLURAL,
      };
      this.externalSecrets.push(
        informer<ExternalSecret>(
          `externalsecrets${namespace ? `:${namespace}` : ''}`,
          esPath,
          () =>
            apiCall(
              `list externalsecrets${namespace ? ` in ${namespace}` : ''}`,
              () =>
                (namespace
                  ? customObjects.listNamespacedCustomObject({ ...group, namespace })
                  : customObjects.listClusterCustomObject(group)) as Promise<
                  KubernetesListObject<ExternalSecret>
                >,
            ),
          undefined,
          {
            onAdd: (object) => this.listener?.externalSecretAdded(object),
            onUpdate: (object) => this.listener?.externalSecretUpdated(object),
            onDelete: (object) => this.listener?.externalSecretDeleted(object),
          },
        ),
      );
      this.managedSecrets.push(
        informer<V1Secret>(
          `managed-secrets${namespace ? `:${namespace}` : ''}`,
          namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
          () =>
            apiCall(`list secrets${namespace ? ` in ${namespace}` : ''}`, () =>
              namespace
                ? core.listNamespacedSecret({ namespace, labelSelector: selector })
                : core.listSecretForAllNamespaces({ labelSelector: selector }),
            ),
          selector,
          {
            onUpdate: (secret) => this.listener?.managedSecretChanged(secret),
            onDelete: (secret) => this.listener?.managedSecretDeleted(secret),
          },
          // Values are only ever compared with what the controller would write: large ones are cached as digests.
          (secret) => digestSecretData(withoutManagedFields(secret)),
        ),
      );
    }
    // Namespaces and Secrets first, so that the first ExternalSecret events find them cached.
    await Promise.all([this.namespaces.start(), ...this.managedSecrets.map((each) => each.start())]);
    await Promise.all(this.externalSecrets.map((each) => each.start()));
  }

  async stop(): Promise<void> {
    this.listener = undefined;
    await Promise.all(this.informers.map((each) => each.stop()));
  }

  private get informers(): Array<ResilientInformer<ExternalSecret | V1Secret | V1Namespace>> {
    return [
      ...this.externalSecrets,
      ...this.managedSecrets,
      ...(this.namespaces ? [this.namespaces] : []),
    ] as Array<ResilientInformer<ExternalSecret | V1Secret | V1Namespace>>;
  }

  getExternalSecret(namespace: string, name: string): ExternalSecret | undefined {
    for (const informer of this.externalSecrets) {
      const found = informer.get(name, namespace);
      if (found) return found;
    }
    return undefined;
  }

  listExternalSecrets(namespace?: string): ExternalSecret[] {
    return this.externalSecrets.flatMap((informer) => informer.list(namespace));
  }

  getNamespace(name: string): V1Namespace | undefined {
    return this.namespaces?.get(name);
  }

  listManagedSecrets(): V1Secret[] {
    return this.managedSecrets.flatMap((informer) => informer.list());
  }

  getManagedSecret(namespace: string, name: string): V1Secret | undefined {
    for (const informer of this.managedSecrets) {
      const found = informer.get(name, namespace);
      if (found) return found;
    }
    return undefined;
  }
}
