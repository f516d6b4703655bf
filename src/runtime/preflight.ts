// Start-up check: can prenv reach the cluster, and does its identity have every permission it
// needs? Answers in one line that names what is missing.
import { AuthorizationV1Api, VersionApi, type KubeConfig } from "@kubernetes/client-node";
import { KubernetesCluster } from "../adapters/kubernetes/cluster.js";

interface Need {
  verb: string;
  resource: string;
  group?: string;
  subresource?: string;
  name?: string;
}

/** What deploy/rbac.yaml grants the bot (group prenv-bot) and the worker and janitor use. */
export const REQUIRED_PERMISSIONS: Need[] = [
  ...["get", "list", "create", "patch", "delete"].map((verb) => ({ verb, resource: "namespaces" })),
  ...["resourcequotas", "limitranges", "serviceaccounts"].map((resource) => ({ verb: "patch", resource })),
  { verb: "patch", resource: "networkpolicies", group: "networking.k8s.io" },
  { verb: "patch", resource: "rolebindings", group: "rbac.authorization.k8s.io" },
  { verb: "bind", resource: "clusterroles", group: "rbac.authorization.k8s.io", name: "prenv-tenant" },
  { verb: "bind", resource: "clusterroles", group: "rbac.authorization.k8s.io", name: "prenv-vcluster" },
  { verb: "impersonate", resource: "serviceaccounts", name: "prenv-tenant" },
  ...["httproutes", "tlsroutes"].map((resource) => ({
    verb: "patch",
    resource,
    group: "gateway.networking.k8s.io",
  })),
  { verb: "patch", resource: "ingresses", group: "networking.k8s.io" },
];

/** What deploy/rbac.yaml grants the kubeconfig endpoint's identity (group prenv-kubeconfig). */
export const ACCESS_PERMISSIONS: Need[] = [
  { verb: "get", resource: "namespaces" },
  { verb: "create", resource: "serviceaccounts", subresource: "token", name: "prenv-tenant" },
];

export function describeNeed(n: Need): string {
  const res = `${n.resource}${n.subresource ? `/${n.subresource}` : ""}${n.group ? `.${n.group}` : ""}`;
  return `${n.verb} ${res}${n.name ? ` named ${n.name}` : ""}`;
}

/** Checks that `kc` reaches its API server and holds `needs`; else one line naming what is missing. */
export async function preflight(
  kc: KubeConfig,
  needs: Need[] = REQUIRED_PERMISSIONS,
  group = "prenv-bot",
): Promise<void> {
  const cluster = new KubernetesCluster(kc);
  try {
    await kc.makeApiClient(VersionApi).getCode();
  } catch (err) {
    throw cluster.translate(err, "read the server version");
  }
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const missing: string[] = [];
  for (const n of needs) {
    const review = await authz
      .createSelfSubjectAccessReview({
        body: {
          spec: {
            resourceAttributes: {
              verb: n.verb,
              resource: n.resource,
              group: n.group ?? "",
              subresource: n.subresource,
              name: n.name,
            },
          },
        },
      })
      .catch((err: unknown) => {
        throw cluster.translate(err, "check its own permissions");
      });
    if (!review.status?.allowed) missing.push(describeNeed(n));
  }
  if (missing.length > 0) {
    throw new Error(
      `the Kubernetes identity in use lacks: ${missing.join(", ")}; apply deploy/rbac.yaml and map this identity to the ${group} group`,
    );
  }
}
