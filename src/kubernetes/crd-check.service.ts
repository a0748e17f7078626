import { Inject, Injectable } from '@nestjs/common';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { EXTERNAL_SECRET_CRD_NAME, EXTERNAL_SECRET_VERSION, KUBE_CONFIG } from './kubernetes.constants.js';
import { apiCall, statusCodeOf } from './api-errors.js';

/** Raised at boot when the cluster cannot serve ExternalSecrets; the process exits with its message. */
export class CrdMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrdMissingError';
  }
}

/** Verifies, before anything watches it, that the ExternalSecret CRD is installed and Established. */
@Injectable()
export class CrdCheckService {
  private readonly apiextensions: ApiextensionsV1Api;

  constructor(@Inject(KUBE_CONFIG) kubeConfig: KubeConfig) {
    this.apiextensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  }

  async verify(): Promise<void> {
    let crd: V1CustomResourceDefinition;
    try {
      crd = await apiCall(`get customresourcedefinitions ${EXTERNAL_SECRET_CRD_NAME}`, () =>
        this.apiextensions.readCustomResourceDefinition({ name: EXTERNAL_SECRET_CRD_NAME }),
      );
    } catch (error) {
      if (statusCodeOf(error) === 404) {
        throw new CrdMissingError(
          `the CustomResourceDefinition ${EXTERNAL_SECRET_CRD_NAME} is not installed: apply crds/ (or install the Helm chart) first`,
        );
      }
      throw error;
    }
    const established = crd.status?.conditions?.some(
      (condition) => condition.type === 'Established' && condition.status === 'True',
    );
    if (!established) {
      throw new CrdMissingError(
        `the CustomResourceDefinition ${EXTERNAL_SECRET_CRD_NAME} is not Established yet`,
      );
    }
    if (!crd.spec.versions.some((version) => version.name === EXTERNAL_SECRET_VERSION && version.served)) {
      throw new CrdMissingError(
        `the CustomResourceDefinition ${EXTERNAL_SECRET_CRD_NAME} does not serve version ${EXTERNAL_SECRET_VERSION}`,
      );
    }
  }
}
