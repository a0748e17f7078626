import { readFileSync } from 'node:fs';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { forEachLine, logMark } from './log-file.js';
import {
  EXTERNAL_SECRET_CRD_NAME,
  EXTERNAL_SECRET_GROUP,
  EXTERNAL_SECRET_PLURAL,
  EXTERNAL_SECRET_VERSION,
} from '../../src/kubernetes/kubernetes.constants.js';

export const CRD_FILE = new URL('../../crds/externalsecrets.kubernetes-client.io.yaml', import.meta.url);
export const CRD_NAME = EXTERNAL_SECRET_CRD_NAME;
export const GROUP = EXTERNAL_SECRET_GROUP;
export const VERSION = EXTERNAL_SECRET_VERSION;
export const PLURAL = EXTERNAL_SECRET_PLURAL;

/** Clients for the local stack's API server, as its admin. */
export function kubeClients() {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    customObjects: kubeConfig.makeApiClient(CustomObjectsApi),
    apiextensions: kubeConfig.makeApiClient(ApiextensionsV1Api),
  };
}

/** Every YAML document of a file, as plain objects. */
export function readYamlDocuments<T = KubernetesObject>(file: URL): T[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJS() as T);
}

/** Polls until the check returns a value other than undefined, or throws after the timeout. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
      if (error instanceof Error && error.message.startsWith('the controller exited')) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/**
 * Sends one raw request to the API server as the stack's admin. The typed clients re-serialise bodies
 * through their models, which drops schema keywords such as `enum` from a CRD; raw YAML keeps them.
 */
export async function rawRequest(
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
  kubeConfig = kubeClients().kubeConfig,
): Promise<{ status: number; body: string }> {
  const server = new URL(path, kubeConfig.getCurrentCluster()!.server);
  const options: https.RequestOptions = { method, headers: { 'Content-Type': contentType } };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = https.request(server, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Applies the project's CRD (server-side apply of the YAML file) and waits until it is Established. */
export async function applyCrd(clients = kubeClients()): Promise<void> {
  const applied = await rawRequest(
    'PATCH',
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}?fieldManager=es-e2e&force=true`,
    readFileSync(CRD_FILE, 'utf8'),
    'application/apply-patch+yaml',
    clients.kubeConfig,
  );
  if (applied.status !== 200 && applied.status !== 201) {
    throw new Error(`applying the CRD answered ${applied.status}: ${applied.body}`);
  }
  await eventually('the CRD to be Established', async () => {
    const live = await clients.apiextensions.readCustomResourceDefinition({ name: CRD_NAME });
    return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
      ? true
      : undefined;
  });
}

/** Creates a namespace with a unique name (namespaces are never waited on to disappear). */
export async function createTestNamespace(prefix: string, clients = kubeClients()): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await clients.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Runs a Kubernetes call and, when it fails, rethrows with the API server's own Status message. */
export async function withStatusMessage<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    const body = (error as { body?: unknown }).body;
    if (typeof body === 'string') {
      try {
        throw new Error((JSON.parse(body) as { message: string }).message, { cause: error });
      } catch (parseError) {
        if (!(parseError instanceof SyntaxError)) throw parseError;
      }
    }
    throw error;
  }
}

type Clients = ReturnType<typeof kubeClients>;
export interface ExternalSecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    resourceVersion?: string;
    uid?: string;
    finalizers?: string[];
  };
  spec?: Record<string, unknown>;
  secretDescriptor?: Record<string, unknown>;
  status?: {
    status?: string;
    lastSync?: string;
    observedGeneration?: number;
    conditions?: Array<Record<string, unknown>>;
  };
}

const group = { group: GROUP, version: VERSION, plural: PLURAL };

export async function createExternalSecret(
  clients: Clients,
  namespace: string,
  manifest: object,
): Promise<void> {
  await withStatusMessage(
    clients.customObjects.createNamespacedCustomObject({
      ...group,
      namespace,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ExternalSecret', ...manifest },
    }),
  );
}

export async function readExternalSecret(clients: Clients, namespace: string, name: string) {
  return (await clients.customObjects.getNamespacedCustomObject({
    ...group,
    namespace,
    name,
  })) as ExternalSecretObject;
}

/** Replaces an ExternalSecret's spec (a JSON merge patch on spec would merge lists element-wise). */
export async function replaceExternalSecretSpec(
  clients: Clients,
  namespace: string,
  name: string,
  spec: object,
) {
  const current = await readExternalSecret(clients, namespace, name);
  await clients.customObjects.replaceNamespacedCustomObject({
    ...group,
    namespace,
    name,
    body: { ...current, spec },
  });
}

/** The Secret's data decoded as UTF-8, or undefined while it does not exist. */
export async function readSecretData(clients: Clients, namespace: string, name: string) {
  try {
    const secret = await clients.core.readNamespacedSecret({ name, namespace });
    return {
      secret,
      data: Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value, 'base64').toString('utf8'),
        ]),
      ),
    };
  } catch {
    return undefined;
  }
}

/** Waits until the ExternalSecret's status matches (status text by prefix). */
export async function waitForStatus(
  clients: Clients,
  namespace: string,
  name: string,
  prefix: string,
  timeoutMs = 20_000,
) {
  return eventually(
    `${namespace}/${name} status starting with "${prefix}"`,
    async () => {
      const object = await readExternalSecret(clients, namespace, name);
      return object.status?.status?.startsWith(prefix) ? object : undefined;
    },
    timeoutMs,
  );
}

/** Events recorded on an object, as "type reason: message". */
export async function eventsOf(clients: Clients, namespace: string, name: string): Promise<string[]> {
  const events = await clients.core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return events.items.map((event) => `${event.type} ${event.reason}: ${event.message}`);
}

const AUDIT_VERBS: Record<string, string> = { create: 'POST', update: 'PUT' };

/** One request as the API server audited it (metadata level). */
export interface AuditedRequest {
  /** GET, LIST, WATCH, PATCH (server-side apply included), POST, PUT, DELETE. */
  readonly verb: string;
  readonly userAgent?: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly code?: number;
  /** From the request's arrival to its response, as the API server audited it. */
  readonly ms?: number;
}

/** A position in the API server's audit log (KAS_AUDIT_LOG from stack.env), to count the requests after it. */
export function apiAuditMark(): number {
  return logMark(auditLogPath());
}

/**
 * The requests the API server audited since `mark` that one client sent (told apart by its User-Agent),
 * optionally only those for objects in one namespace. The test stack's audit policy records ExternalSecrets,
 * Secrets, Namespaces and Events.
 */
export function auditedApiRequests(mark: number, userAgent: string, namespace?: string): AuditedRequest[] {
  const requests: AuditedRequest[] = [];
  forEachLine(auditLogPath(), mark, (line) => {
    if (!line.includes(userAgent)) return;
    const event = JSON.parse(line) as {
      verb: string;
      userAgent?: string;
      objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
      responseStatus?: { code?: number };
      requestReceivedTimestamp?: string;
      stageTimestamp?: string;
    };
    if (event.userAgent !== userAgent) return;
    if (namespace !== undefined && event.objectRef?.namespace !== namespace) return;
    requests.push({
      verb: AUDIT_VERBS[event.verb] ?? event.verb.toUpperCase(),
      userAgent: event.userAgent,
      resource: event.objectRef?.resource ?? '',
      subresource: event.objectRef?.subresource,
      namespace: event.objectRef?.namespace,
      name: event.objectRef?.name,
      code: event.responseStatus?.code,
      ms:
        event.requestReceivedTimestamp && event.stageTimestamp
          ? Date.parse(event.stageTimestamp) - Date.parse(event.requestReceivedTimestamp)
          : undefined,
    });
  });
  return requests;
}

/** auditedApiRequests counted by "VERB resource[/subresource]". */
export function apiRequestsSince(mark: number, userAgent: string, namespace?: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { verb, resource, subresource } of auditedApiRequests(mark, userAgent, namespace)) {
    const label = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

function auditLogPath(): string {
  const path = process.env.KAS_AUDIT_LOG;
  if (!path)
    throw new Error('KAS_AUDIT_LOG is not set: source .stack/stack.env (test/stack/up.sh writes it)');
  return path;
}
