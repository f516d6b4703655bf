// Short-lived access to an environment, on client-node: TokenRequests for the tenant service
// account on the host (namespace mode), or for prenv's developer service account inside the
// virtual cluster (vcluster mode). Tokens are credentials: they are returned, never logged.
import { KubeConfig } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { TENANT_SERVICE_ACCOUNT } from "../../environment/accounts.js";
import type { IssuedAccess } from "../../environment/ports.js";
import { MANAGER } from "../../environment/record.js";
import { PrenvError } from "../../errors.js";
import { serviceAccountUser } from "./kubeconfig.js";
import { Connection, RawKube, type DiscoveryCache } from "./raw.js";
import { NotPublished, virtualKubeConfig } from "./virtual.js";

/** Inside a virtual cluster: the service account developers' kubeconfigs act as (cluster-admin there). */
export const DEVELOPER_SERVICE_ACCOUNT = { namespace: "kube-system", name: "prenv-developer" } as const;

const FIELD_MANAGER = MANAGER.identity;

/** What issuing needs of the cluster adapter. */
export interface TokenContext {
  kc: KubeConfig;
  /** As the bot. */
  raw: RawKube;
  discovery: DiscoveryCache;
  translate(err: unknown, what: string): PrenvError;
  /** API server URL for namespace-mode kubeconfigs; null: the kubeconfig's own. */
  hostServer: string | null;
  /** Where to connect for every virtual cluster API (host:port), keeping its host as TLS name. */
  virtualAddress: string | null;
}

/** A TokenRequest for the namespace's tenant service account, as the bot. */
export async function issueTenantAccess(
  c: TokenContext,
  namespace: string,
  seconds: number,
): Promise<IssuedAccess> {
  const cluster = c.kc.getCurrentCluster();
  if (!cluster) throw new PrenvError("CLUSTER_ERROR", "the kubeconfig's current context has no cluster");
  const issued = await requestToken(c.raw, namespace, TENANT_SERVICE_ACCOUNT, seconds).catch(
    (err: unknown) => {
      throw c.translate(err, `issue a token for ${namespace}/${TENANT_SERVICE_ACCOUNT}`);
    },
  );
  return {
    server: c.hostServer ?? cluster.server,
    certificateAuthorityData: caData(cluster),
    ...issued,
    namespace,
    subject: serviceAccountUser(namespace, TENANT_SERVICE_ACCOUNT),
  };
}

/** The namespace's tenant, authenticated by a 10-minute TokenRequest token of its own. */
async function tenantByToken(c: TokenContext, namespace: string): Promise<KubeConfig> {
  const cluster = c.kc.getCurrentCluster();
  if (!cluster) throw new PrenvError("CLUSTER_ERROR", "the kubeconfig's current context has no cluster");
  const { token } = await requestToken(c.raw, namespace, TENANT_SERVICE_ACCOUNT, 600).catch(
    (err: unknown) => {
      throw c.translate(err, `issue a token for ${namespace}/${TENANT_SERVICE_ACCOUNT}`);
    },
  );
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: "host" }],
    users: [{ name: "tenant", token }],
    contexts: [{ name: "tenant", cluster: "host", user: "tenant" }],
    currentContext: "tenant",
  });
  return kc;
}

/** A TokenRequest inside the virtual cluster for prenv's developer service account (cluster-admin there). */
export async function issueVirtualAccess(
  c: TokenContext,
  namespace: string,
  apiHost: string,
  seconds: number,
): Promise<IssuedAccess> {
  const endpoint = { apiHost, address: c.virtualAddress };
  let kc: KubeConfig;
  try {
    // As the tenant, with a token of the shortest lifetime Kubernetes issues: the kubeconfig
    // endpoint's identity requests tokens for prenv-tenant and may impersonate no one.
    // Its own connection: one made with the bot's client certificate would authenticate as the bot.
    const tenant = new RawKube(await tenantByToken(c, namespace), new Connection(c.discovery));
    kc = await virtualKubeConfig(tenant, namespace, endpoint);
  } catch (err) {
    if (err instanceof NotPublished) {
      throw new PrenvError("VCLUSTER_NOT_READY", `The virtual cluster is still starting: ${err.message}.`);
    }
    throw c.translate(err, `read the virtual cluster's Secret in ${namespace}`);
  }
  const raw = new RawKube(kc);
  const { namespace: ns, name } = DEVELOPER_SERVICE_ACCOUNT;
  try {
    // Idempotent: also brings the account back into a virtual cluster that restarted empty.
    await raw.apply(
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } },
      { fieldManager: FIELD_MANAGER, force: true },
    );
    await raw.apply(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
      } as never,
      { fieldManager: FIELD_MANAGER, force: true },
    );
    const issued = await requestToken(raw, ns, name, seconds);
    return {
      server: `https://${apiHost}`,
      certificateAuthorityData: caData(kc.getCurrentCluster() ?? {}),
      ...issued,
      namespace: "default",
      subject: serviceAccountUser(ns, name),
    };
  } catch (err) {
    throw c.translate(err, "issue a token in the virtual cluster");
  }
}

/** A TokenRequest: a bearer token for `namespace/name` that the API server accepts for `seconds`. */
async function requestToken(
  raw: RawKube,
  namespace: string,
  name: string,
  seconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  const answer = (await raw.request(
    "POST",
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: seconds },
      },
    },
  )) as { status?: { token?: string; expirationTimestamp?: string } };
  const token = answer.status?.token;
  const expiresAt = new Date(answer.status?.expirationTimestamp ?? "");
  if (!token || Number.isNaN(expiresAt.getTime())) {
    throw new PrenvError("CLUSTER_ERROR", "the API server answered a TokenRequest without a token");
  }
  return { token, expiresAt };
}

/** The cluster's CA bundle as kubeconfig `certificate-authority-data`, or null for a public CA. */
function caData(cluster: { caData?: string; caFile?: string }): string | null {
  if (cluster.caData) return cluster.caData;
  if (cluster.caFile) return readFileSync(cluster.caFile).toString("base64");
  return null;
}
