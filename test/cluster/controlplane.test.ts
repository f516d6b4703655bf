// Proves the cluster tier runs against a real API server: each test depends on behaviour a
// permissive fake would not have (RBAC, impersonation, admission, the namespace controller,
// server-side apply field ownership).
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  type V1ConfigMap,
  type V1Pod,
} from "@kubernetes/client-node";
import { describe, expect } from "vitest";
import { ImpersonatingKubeConfig, serviceAccountUser } from "../../src/adapters/kubernetes/kubeconfig.js";
import { RawKube } from "../../src/adapters/kubernetes/raw.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually, expectApiError, waitForDefaultServiceAccount } from "./harness/k8s-helpers.js";

const TENANT_SA = "prenv-tenant";

function pod(name: string, spec: Partial<V1Pod["spec"]> = {}): V1Pod {
  return {
    metadata: { name },
    spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }], ...spec },
  };
}

describe("the bot's production RBAC (deploy/rbac.yaml)", () => {
  test("lets prenv-bot create a namespace with quota, limit range, network policy and tenant RBAC", async ({
    bot,
    freshName,
  }) => {
    const name = freshName("guarded");
    const core = bot.makeApiClient(CoreV1Api);
    await core.createNamespace({
      body: {
        metadata: {
          name,
          // deploy/policy.yaml: the bot creates only namespaces labelled as prenv's, with Pod Security.
          labels: {
            "app.kubernetes.io/managed-by": "prenv",
            "pod-security.kubernetes.io/enforce": "restricted",
          },
        },
      },
    });
    await core.createNamespacedResourceQuota({
      namespace: name,
      body: { metadata: { name: "prenv" }, spec: { hard: { "requests.cpu": "1", pods: "10" } } },
    });
    await core.createNamespacedLimitRange({
      namespace: name,
      body: {
        metadata: { name: "prenv" },
        spec: { limits: [{ type: "Container", _default: { cpu: "200m" }, defaultRequest: { cpu: "50m" } }] },
      },
    });
    await bot.makeApiClient(NetworkingV1Api).createNamespacedNetworkPolicy({
      namespace: name,
      body: { metadata: { name: "default-deny" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } },
    });
    await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: TENANT_SA } } });
    const binding = await bot.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: name,
      body: {
        metadata: { name: TENANT_SA },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "prenv-tenant" },
        subjects: [{ kind: "ServiceAccount", name: TENANT_SA, namespace: name }],
      },
    });
    expect(binding.roleRef.name).toBe("prenv-tenant");
  });

  test("refuses prenv-bot what the manifest does not grant: secrets, other roles, other service accounts", async ({
    bot,
    ns,
  }) => {
    await expectApiError(
      bot.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: "kube-system" }),
      403,
    );
    // Binding any ClusterRole other than prenv-tenant would be privilege escalation.
    await expectApiError(
      bot.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: "escalate" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subjects: [{ kind: "ServiceAccount", name: TENANT_SA, namespace: ns }],
        },
      }),
      403,
    );
    const asDefault = new ImpersonatingKubeConfig(bot, {
      user: serviceAccountUser("kube-system", "default"),
    });
    await expectApiError(
      asDefault.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: "kube-system" }),
      403,
    );
  });
});

describe("impersonating the tenant service account", () => {
  test("may create objects in its own namespace but not a ClusterRoleBinding or objects elsewhere (403)", async ({
    admin,
    bot,
    ns,
    freshName,
  }) => {
    const core = admin.makeApiClient(CoreV1Api);
    // A prenv namespace: deploy/policy.yaml keeps the tenant identity to those.
    await new RawKube(admin).request("PATCH", `/api/v1/namespaces/${ns}`, {
      body: { metadata: { labels: { "app.kubernetes.io/managed-by": "prenv" } } },
      contentType: "application/merge-patch+json",
    });
    // Only prenv's bot may create the tenant's service account (deploy/policy.yaml).
    await bot
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: TENANT_SA } } });
    await admin.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: TENANT_SA },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "prenv-tenant" },
        subjects: [{ kind: "ServiceAccount", name: TENANT_SA, namespace: ns }],
      },
    });
    const other = freshName("other");
    await core.createNamespace({ body: { metadata: { name: other } } });

    const tenant = new ImpersonatingKubeConfig(bot, { user: serviceAccountUser(ns, TENANT_SA) });
    const tenantCore = tenant.makeApiClient(CoreV1Api);
    await tenantCore.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "mine" } } });

    const crb = await expectApiError(
      tenant.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
        body: {
          metadata: { name: `${ns}-grab` },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subjects: [{ kind: "ServiceAccount", name: TENANT_SA, namespace: ns }],
        },
      }),
      403,
    );
    expect(crb).toContain(serviceAccountUser(ns, TENANT_SA));
    await expectApiError(
      tenantCore.createNamespacedConfigMap({ namespace: other, body: { metadata: { name: "theirs" } } }),
      403,
    );
    // Nor may it loosen the namespace's own guards.
    await expectApiError(
      tenant.makeApiClient(NetworkingV1Api).createNamespacedNetworkPolicy({
        namespace: ns,
        body: { metadata: { name: "allow-all" }, spec: { podSelector: {}, ingress: [{}] } },
      }),
      403,
    );
  });
});

describe("admission", () => {
  test("rejects a privileged pod in a namespace whose Pod Security level is restricted", async ({
    admin,
    freshName,
  }) => {
    const name = freshName("psa");
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({
      body: { metadata: { name, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
    });
    await waitForDefaultServiceAccount(admin, name);
    const body = await expectApiError(
      core.createNamespacedPod({
        namespace: name,
        body: pod("root", {
          containers: [
            { name: "app", image: "registry.invalid/app:1", securityContext: { privileged: true } },
          ],
        }),
      }),
      403,
    );
    expect(body).toMatch(/violates PodSecurity "restricted/);
  });

  test("rejects a pod whose requests exceed the namespace ResourceQuota", async ({ admin, ns }) => {
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedResourceQuota({
      namespace: ns,
      body: { metadata: { name: "prenv" }, spec: { hard: { "requests.cpu": "100m", "limits.cpu": "200m" } } },
    });
    // Quota admission needs the quota controller to have computed usage first.
    await eventually("quota status", 30_000, async () => {
      const q = await core.readNamespacedResourceQuota({ name: "prenv", namespace: ns });
      return q.status?.hard?.["requests.cpu"] !== undefined;
    });
    await waitForDefaultServiceAccount(admin, ns);
    const resources = { requests: { cpu: "500m" }, limits: { cpu: "500m" } };
    const body = await expectApiError(
      core.createNamespacedPod({
        namespace: ns,
        body: pod("big", { containers: [{ name: "app", image: "registry.invalid/app:1", resources }] }),
      }),
      403,
    );
    expect(body).toContain("exceeded quota");
  });
});

describe("namespace deletion", () => {
  test("completes through the namespace controller, removing the objects inside, within 60 s", async ({
    admin,
    freshName,
  }) => {
    const name = freshName("teardown");
    const core = admin.makeApiClient(CoreV1Api);
    const created = await core.createNamespace({ body: { metadata: { name } } });
    expect(created.spec?.finalizers).toContain("kubernetes");
    await core.createNamespacedConfigMap({ namespace: name, body: { metadata: { name: "data" } } });
    await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: name,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: pod("x").spec! },
        },
      },
    });
    // The deployment controller really runs: it creates a ReplicaSet.
    await eventually("replicaset for web", 30_000, async () => {
      const rs = await admin.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace: name });
      return rs.items.length === 1;
    });

    await core.deleteNamespace({ name });
    const phase = (await core.readNamespace({ name })).status?.phase;
    expect(phase).toBe("Terminating");
    const took = await eventually(`namespace ${name} to disappear`, 60_000, () =>
      core.readNamespace({ name }).then(
        () => false,
        () => true,
      ),
    );
    expect(took).toBeLessThan(60_000);
  });
});

describe("server-side apply", () => {
  test("reports a conflict when another manager owns a field prenv sets, and force takes ownership", async ({
    admin,
    ns,
  }) => {
    const api = KubernetesObjectApi.makeApiClient(admin);
    const cm = (value: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "shared", namespace: ns },
      data: { owner: value },
    });
    await api.patch(
      cm("someone-else"),
      undefined,
      undefined,
      "kubectl",
      false,
      PatchStrategy.ServerSideApply,
    );
    const body = await expectApiError(
      api.patch(cm("prenv"), undefined, undefined, "prenv", false, PatchStrategy.ServerSideApply),
      409,
    );
    expect(body).toContain('conflict with "kubectl"');
    const forced = (await api.patch(
      cm("prenv"),
      undefined,
      undefined,
      "prenv",
      true,
      PatchStrategy.ServerSideApply,
    )) as V1ConfigMap;
    expect(forced.data?.owner).toBe("prenv");
    expect(forced.metadata?.managedFields?.map((f) => f.manager)).toEqual(["prenv"]);
  });
});
