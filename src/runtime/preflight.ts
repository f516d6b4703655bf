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

/** What deploy/rbac.yaml grants and prenv uses. */
export const REQUIRED_PERMISSIONS: Need[] = [
  ...["get", "list", "create", "patch", "delete"].map((verb) => ({ verb, resource: "namespaces" })),
  ...["resourcequotas", "limitranges", "serviceaccounts"].map((resource) => ({ verb: "patch", resource })),
  { verb: "patch", resource: "networkpolicies", group: "networking.k8s.io" },
  { verb: "patch", resource: "rolebindings", group: "rbac.authorization.k8s.io" },
  { verb: "bind", resource: "clusterroles", group: "rbac.authorization.k8s.io", name: "prenv-tenant" },
  { verb: "bind", resource: "clusterroles", group: "rbac.authorization.k8s.io", name: "prenv-vcluster" },
  { verb: "impersonate", resource: "serviceaccounts", name: "prenv-tenant" },
  { verb: "create", resource: "serviceaccounts", subresource: "token", name: "prenv-tenant" },
];

export function describeNeed(n: Need): string {
  const res = `${n.resource}${n.subresource ? `/${n.subresource}` : ""}${n.group ? `.${n.group}` : ""}`;
  return `${n.verb} ${res}${n.name ? ` named ${n.name}` : ""}`;
}

export async function preflight(kc: KubeConfig): Promise<void> {
  const cluster = new KubernetesCluster(kc);
  try {
    await kc.makeApiClient(VersionApi).getCode();
  } catch (err) {
    throw cluster.translate(err, "read the server version");
  }
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const missing: string[] = [];
  for (const n of REQUIRED_PERMISSIONS) {
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
      `the Kubernetes identity in use lacks: ${missing.join(", ")}; apply deploy/rbac.yaml and map the bot to the prenv-bot group`,
    );
  }
}
