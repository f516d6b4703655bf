// The Kubernetes adapter against the real API server, as the bot with production RBAC: the
// rendered guard templates are accepted, tenant objects are applied as the tenant, refused
// objects surface as MANIFEST_INVALID, pruning and teardown work.
import { AppsV1Api, CoreV1Api, NetworkingV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { describe, expect } from "vitest";
import { KubernetesCluster } from "../../src/adapters/kubernetes/cluster.js";
import { namespaceObjects, type GuardTemplates } from "../../src/environment/guards.js";
import type { KubeObject } from "../../src/manifests/objects.js";
import { MANAGED_BY } from "../../src/environment/record.js";
import { parseRepoConfig } from "../../src/config/parse.js";
import { PrenvError } from "../../src/errors.js";
import { loadTemplates } from "../../src/runtime/templates.js";
import { testSettings } from "../support/settings.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually, waitForDefaultServiceAccount } from "./harness/k8s-helpers.js";

const templates = loadTemplates();
const config = (() => {
  const r = parseRepoConfig({ resources: { cpu: "1", memory: "1Gi", pods: 5, storage: "1Gi" } });
  if (!r.ok) throw new Error("bad test config");
  return r.config;
})();

function guards(t: GuardTemplates, namespace: string): KubeObject[] {
  return namespaceObjects(t, {
    namespace,
    labels: { ...MANAGED_BY, "prenv.dev/pr": "1" },
    annotations: { "prenv.dev/repository": "acme/web" },
    config,
    settings: testSettings({ PRENV_POD_SECURITY_VERSION: "v1.34" }).environment,
  });
}

function configMap(name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels: { ...MANAGED_BY } }, data };
}

function deployment(name: string, replicas: number, image = "registry.invalid/app:1"): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "app",
              image,
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    },
  };
}

describe("KubernetesCluster as prenv-bot", () => {
  test("applies the rendered namespace guards and they are what the API server stores", async ({
    bot,
    admin,
    freshName,
  }) => {
    const ns = freshName("guards");
    const cluster = new KubernetesCluster(bot);
    await cluster.applyAsBot(guards(templates.guards, ns));
    // Applying again is a no-op (server-side apply is idempotent).
    await cluster.applyAsBot(guards(templates.guards, ns));

    const core = admin.makeApiClient(CoreV1Api);
    const nsObj = await core.readNamespace({ name: ns });
    expect(nsObj.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(nsObj.metadata?.managedFields?.map((f) => f.manager)).toContain("prenv");
    const quota = await core.readNamespacedResourceQuota({ name: "prenv", namespace: ns });
    expect(quota.spec?.hard?.["requests.cpu"]).toBe("1");
    expect(quota.spec?.hard?.["services.loadbalancers"]).toBe("0");
    const policy = await admin
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ name: "prenv-default-deny", namespace: ns });
    expect(policy.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    const binding = await admin
      .makeApiClient(RbacAuthorizationV1Api)
      .readNamespacedRoleBinding({ name: "prenv-tenant", namespace: ns });
    expect(binding.roleRef.name).toBe("prenv-tenant");
    expect((await cluster.readEnvironment(ns))?.phase).toBe("Active");
  });

  test("applies tenant objects as the tenant, refuses what the tenant may not do, and prunes", async ({
    bot,
    admin,
    freshName,
  }) => {
    const ns = freshName("tenant");
    const cluster = new KubernetesCluster(bot);
    await cluster.applyAsBot(guards(templates.guards, ns));

    await cluster.applyAsTenant(ns, [configMap("a"), configMap("b")], { dryRun: true });
    const core = admin.makeApiClient(CoreV1Api);
    expect(
      (await core.listNamespacedConfigMap({ namespace: ns })).items.map((c) => c.metadata?.name),
    ).not.toContain("a");

    await cluster.applyAsTenant(ns, [configMap("a"), configMap("b")], { dryRun: false });
    const a = await core.readNamespacedConfigMap({ name: "a", namespace: ns });
    expect(a.metadata?.managedFields?.map((f) => f.manager)).toEqual(["prenv"]);

    // The tenant role has no NetworkPolicy rights: the real RBAC refuses it, every refusal listed.
    const sneaky: KubeObject = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "allow-all" },
      spec: { podSelector: {}, ingress: [{}] },
    };
    const err = await cluster
      .applyAsTenant(ns, [configMap("c"), sneaky], { dryRun: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrenvError);
    expect((err as PrenvError).code).toBe("MANIFEST_INVALID");
    expect((err as PrenvError).message).toContain("NetworkPolicy/allow-all");
    expect((err as PrenvError).message).toContain("forbidden");

    await cluster.deleteAsTenant(ns, [
      { apiVersion: "v1", kind: "ConfigMap", name: "b" },
      { apiVersion: "v1", kind: "ConfigMap", name: "gone" },
    ]);
    const names = (await core.listNamespacedConfigMap({ namespace: ns })).items.map((c) => c.metadata?.name);
    expect(names).toContain("a");
    expect(names).not.toContain("b");
  });

  test("waits for a rollout the deployment controller completes, and diagnoses one that cannot", async ({
    bot,
    admin,
    freshName,
    node,
  }) => {
    const ns = freshName("rollout");
    const cluster = new KubernetesCluster(bot, { pollMs: 200 });
    await cluster.applyAsBot(guards(templates.guards, ns));
    await waitForDefaultServiceAccount(admin, ns);
    await cluster.applyAsTenant(ns, [deployment("ready", 1, node.images.web), deployment("web", 1)], {
      dryRun: false,
    });

    const ready = [{ apiVersion: "apps/v1", kind: "Deployment", name: "ready" }];
    await eventually("the deployment controller to roll out Deployment/ready", 30_000, async () => {
      const state = await cluster.rolloutState(ns, ready);
      expect(state).not.toMatchObject({ failed: [expect.anything()] });
      return state.ready;
    });
    // web's image is nowhere: the kubelet fails to pull it (no registry answers).
    await eventually("the kubelet to give up pulling web's image", 30_000, async () =>
      /^(ErrImagePull|ImagePullBackOff)$/.test((await cluster.diagnose(ns)).pods[0]?.reason ?? ""),
    );
    const result = await cluster.rolloutState(ns, [
      { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
    ]);
    expect(result).toEqual({ ready: false, pending: ["Deployment/web"], failed: [] });
    const report = await cluster.diagnose(ns);
    expect(report.pods).toHaveLength(1);
    expect(report.pods[0]?.name).toMatch(/^web-/);
    expect(report.pods[0]?.reason).toMatch(/^(ErrImagePull|ImagePullBackOff)$/);
    expect(report.pods[0]?.message).toContain("registry.invalid/app:1");
    const d = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "web", namespace: ns });
    expect(d.status?.replicas).toBe(1);
  });

  test("reports quota refusals of the replica set as warning events", async ({ bot, admin, freshName }) => {
    const ns = freshName("quota");
    const cluster = new KubernetesCluster(bot, { pollMs: 200 });
    await cluster.applyAsBot(guards(templates.guards, ns));
    await waitForDefaultServiceAccount(admin, ns);
    const greedy = deployment("greedy", 1);
    const pod = (greedy.spec as { template: { spec: { containers: { resources?: unknown }[] } } }).template
      .spec;
    pod.containers[0]!.resources = { requests: { cpu: "4" }, limits: { cpu: "4" } };
    await cluster.applyAsTenant(ns, [greedy], { dryRun: false });
    await eventually("a FailedCreate event for the quota", 30_000, async () =>
      (await cluster.diagnose(ns)).events.some(
        (e) => e.reason === "FailedCreate" && e.message.includes("exceeded quota"),
      ),
    );
  });

  test("deletes only namespaces prenv manages", async ({ bot, admin, ns, freshName }) => {
    const cluster = new KubernetesCluster(bot);
    const err = await cluster.deleteNamespace(ns).catch((e: unknown) => e);
    expect((err as PrenvError).message).toContain("not managed by prenv");
    expect((await admin.makeApiClient(CoreV1Api).readNamespace({ name: ns })).metadata?.name).toBe(ns);

    const mine = freshName("mine");
    await cluster.applyAsBot(guards(templates.guards, mine));
    await cluster.deleteNamespace(mine);
    await eventually(`${mine} gone`, 60_000, async () => (await cluster.readEnvironment(mine)) === null);
  });

  test("translates an identity without rights into CLUSTER_FORBIDDEN naming the permission", async ({
    admin,
    freshName,
  }) => {
    const { ImpersonatingKubeConfig } = await import("../../src/adapters/kubernetes/kubeconfig.js");
    const nobody = new ImpersonatingKubeConfig(admin, { user: "nobody" });
    const err = await new KubernetesCluster(nobody)
      .applyAsBot(guards(templates.guards, freshName("nobody")))
      .catch((e: unknown) => e);
    expect((err as PrenvError).code).toBe("CLUSTER_FORBIDDEN");
    expect((err as PrenvError).message).toMatch(/cannot (patch|create) resource "namespaces"/);
  });
});

describe("a deletion that cannot finish", () => {
  test("is reported by the janitor as stuck, with what blocks it, instead of being retried", async ({
    bot,
    admin,
    freshName,
  }) => {
    const ns = freshName("stuck");
    const cluster = new KubernetesCluster(bot);
    await cluster.applyAsBot(guards(templates.guards, ns));
    const core = admin.makeApiClient(CoreV1Api);
    // A finalizer whose controller does not exist keeps the namespace in Terminating.
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "held", finalizers: ["example.com/held"] } },
    });
    await cluster.deleteNamespace(ns);
    await eventually("the namespace controller's condition", 30_000, async () =>
      ((await cluster.readEnvironment(ns))?.deleting?.blockedBy ?? []).some((b) =>
        b.startsWith("NamespaceFinalizersRemaining"),
      ),
    );
    const { sweep } = await import("../../src/environment/janitor.js");
    const run = (now: Date) =>
      sweep({
        listEnvironments: async () => (await cluster.listEnvironments()).filter((e) => e.name === ns),
        openPulls: () => Promise.reject(new Error("not asked for terminating environments")),
        enqueue: () => Promise.reject(new Error("nothing to enqueue")),
        clock: { now: () => now },
        log: { info: () => undefined, warn: () => undefined, error: () => undefined },
        prices: testSettings().environment.prices,
      });
    expect((await run(new Date())).skipped).toEqual([{ namespace: ns, reason: "already terminating" }]);
    const later = await run(new Date(Date.now() + 11 * 60_000));
    expect(later.skipped[0]?.reason).toMatch(
      /^STUCK: terminating for 1[01] min: .*NamespaceFinalizersRemaining: .*example\.com\/held/,
    );

    // Clean up: drop the finalizer.
    await core.patchNamespacedConfigMap({
      name: "held",
      namespace: ns,
      body: [{ op: "remove", path: "/metadata/finalizers" }],
    });
  });
});
