// prenv's two Kubernetes identities, held to prenv's namespaces on the real API server: RBAC gives
// the bot its rights cluster-wide (it cannot select namespaces by label), so deploy/policy.yaml's
// admission policies are what keep a stolen bot identity out of kube-system and every other
// namespace, and deploy/rbac.yaml gives the kubeconfig endpoint's identity only a namespace read
// and tenant tokens.
import {
  AuthenticationV1Api,
  CoreV1Api,
  type KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  type V1RoleBinding,
} from "@kubernetes/client-node";
import { describe, expect } from "vitest";
import { ImpersonatingKubeConfig, serviceAccountUser } from "../../src/adapters/kubernetes/kubeconfig.js";
import { RawKube } from "../../src/adapters/kubernetes/raw.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { expectApiError, waitForDefaultServiceAccount } from "./harness/k8s-helpers.js";

const TENANT = "prenv-tenant";
const MANAGED = { "app.kubernetes.io/managed-by": "prenv" };
const RESTRICTED = { "pod-security.kubernetes.io/enforce": "restricted" };

function tenantBinding(namespace: string, subjects?: V1RoleBinding["subjects"]): V1RoleBinding {
  return {
    metadata: { name: TENANT },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: TENANT },
    subjects: subjects ?? [{ kind: "ServiceAccount", name: TENANT, namespace }],
  };
}

/** A namespace as prenv creates it (labelled, Pod Security enforced), created by `kc`. */
async function prenvNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespace({
    body: { metadata: { name, labels: { ...MANAGED, ...RESTRICTED } } },
  });
}

function mergePatchLabels(kc: KubeConfig, name: string, labels: Record<string, string | null>) {
  return new RawKube(kc).request("PATCH", `/api/v1/namespaces/${name}`, {
    body: { metadata: { labels } },
    contentType: "application/merge-patch+json",
  });
}

/** On a cluster without the policy a refused change would have happened: undo it. */
async function unlabel(admin: KubeConfig, name: string): Promise<void> {
  await mergePatchLabels(admin, name, { "app.kubernetes.io/managed-by": null }).catch(() => undefined);
}

describe("prenv-bot is held to prenv's namespaces (deploy/policy.yaml)", () => {
  test("cannot create a prenv-tenant service account, its role binding, a quota or a network policy in kube-system or an unlabelled namespace", async ({
    bot,
    ns: unlabelled,
  }) => {
    const core = bot.makeApiClient(CoreV1Api);
    const rbac = bot.makeApiClient(RbacAuthorizationV1Api);
    for (const namespace of ["kube-system", unlabelled]) {
      const sa = await expectApiError(
        core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: TENANT } } }),
        403,
      );
      expect(sa).toContain("prenv-bot-namespaced-objects");
      expect(sa).toContain(`${namespace} is not one`);
      const binding = await expectApiError(
        rbac.createNamespacedRoleBinding({ namespace, body: tenantBinding(namespace) }),
        403,
      );
      expect(binding).toContain("prenv-bot-namespaced-objects");
      await expectApiError(
        core.createNamespacedResourceQuota({
          namespace,
          body: { metadata: { name: "prenv" }, spec: { hard: { pods: "0" } } },
        }),
        403,
      );
      await expectApiError(
        bot.makeApiClient(NetworkingV1Api).createNamespacedNetworkPolicy({
          namespace,
          body: { metadata: { name: "deny-all" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } },
        }),
        403,
      );
    }
    // Nothing was created (a dry run would not prove that; the API server is asked again).
    const left = await core.listNamespacedServiceAccount({ namespace: "kube-system" });
    expect(left.items.map((s) => s.metadata?.name)).not.toContain(TENANT);
  });

  test("cannot label a namespace as prenv's, take the label off one, delete one that is not prenv's, or create one outside these rules", async ({
    bot,
    admin,
    ns: unlabelled,
    freshName,
  }) => {
    const core = bot.makeApiClient(CoreV1Api);
    try {
      // Relabelling to get in.
      for (const name of ["kube-system", unlabelled]) {
        const msg = await expectApiError(mergePatchLabels(bot, name, { ...MANAGED, ...RESTRICTED }), 403);
        expect(msg).toContain("prenv-bot-namespaces");
        expect(msg).toContain(`${name} is not one`);
      }
      await expectApiError(core.deleteNamespace({ name: unlabelled }), 403);

      // Creating: only labelled, and only with Pod Security enforced at restricted or baseline.
      const bare = freshName("bare");
      await expectApiError(core.createNamespace({ body: { metadata: { name: bare } } }), 403);
      await expectApiError(
        core.createNamespace({ body: { metadata: { name: bare, labels: MANAGED } } }),
        403,
      );
      const privileged = await expectApiError(
        core.createNamespace({
          body: {
            metadata: {
              name: bare,
              labels: { ...MANAGED, "pod-security.kubernetes.io/enforce": "privileged" },
            },
          },
        }),
        403,
      );
      expect(privileged).toContain("Pod Security restricted or baseline");

      // Unlabelling to get out (the namespace would keep the bot's rights, without the guards).
      const own = freshName("own");
      await prenvNamespace(bot, own);
      const off = await expectApiError(
        mergePatchLabels(bot, own, { "app.kubernetes.io/managed-by": null }),
        403,
      );
      expect(off).toContain(
        `may not remove the app.kubernetes.io/managed-by=prenv label from namespace ${own}`,
      );
      await expectApiError(
        mergePatchLabels(bot, own, { "app.kubernetes.io/managed-by": "someone-else" }),
        403,
      );
      await expectApiError(
        mergePatchLabels(bot, own, { "pod-security.kubernetes.io/enforce": "privileged" }),
        403,
      );
      // What prenv does with its own namespaces still works.
      await mergePatchLabels(bot, own, {
        "pod-security.kubernetes.io/enforce": "baseline",
        "prenv.dev/pr": "3",
      });
      await core.deleteNamespace({ name: own });
    } finally {
      await unlabel(admin, "kube-system");
      await unlabel(admin, unlabelled);
    }
    const system = await admin.makeApiClient(CoreV1Api).readNamespace({ name: "kube-system" });
    expect(system.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
  });

  test("binds prenv-tenant only to service accounts of the namespace itself, never to groups or other namespaces", async ({
    bot,
    freshName,
  }) => {
    const own = freshName("bind");
    await prenvNamespace(bot, own);
    const rbac = bot.makeApiClient(RbacAuthorizationV1Api);
    const everyone = await expectApiError(
      rbac.createNamespacedRoleBinding({
        namespace: own,
        body: tenantBinding(own, [
          { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:authenticated" },
        ]),
      }),
      403,
    );
    expect(everyone).toContain("to service accounts of their own namespace");
    await expectApiError(
      rbac.createNamespacedRoleBinding({
        namespace: own,
        body: tenantBinding(own, [{ kind: "ServiceAccount", name: "default", namespace: "kube-system" }]),
      }),
      403,
    );
    await bot.makeApiClient(CoreV1Api).createNamespacedServiceAccount({
      namespace: own,
      body: { metadata: { name: TENANT } },
    });
    await rbac.createNamespacedRoleBinding({ namespace: own, body: tenantBinding(own) });
  });

  test("acting as a prenv-tenant service account someone created outside prenv's namespaces changes nothing there", async ({
    bot,
    admin,
    ns: unlabelled,
  }) => {
    // An operator's own service account that happens to share the name, with rights of its own.
    await admin
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccount({ namespace: unlabelled, body: { metadata: { name: TENANT } } });
    await admin.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: unlabelled,
      body: {
        metadata: { name: "edit" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
        subjects: [{ kind: "ServiceAccount", name: TENANT, namespace: unlabelled }],
      },
    });
    const asTenant = new ImpersonatingKubeConfig(bot, { user: serviceAccountUser(unlabelled, TENANT) });
    const msg = await expectApiError(
      asTenant
        .makeApiClient(CoreV1Api)
        .createNamespacedConfigMap({ namespace: unlabelled, body: { metadata: { name: "x" } } }),
      403,
    );
    expect(msg).toContain("prenv-tenant-confined");
    // The operator's own identity is not affected.
    await admin
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace: unlabelled, body: { metadata: { name: "x" } } });
  });

  test("issues no tokens any more: that is the kubeconfig endpoint's identity", async ({
    bot,
    freshName,
  }) => {
    const own = freshName("notok");
    await prenvNamespace(bot, own);
    await bot.makeApiClient(CoreV1Api).createNamespacedServiceAccount({
      namespace: own,
      body: { metadata: { name: TENANT } },
    });
    await expectApiError(
      bot.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
        namespace: own,
        name: TENANT,
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      }),
      403,
    );
  });
});

describe("the kubeconfig endpoint's identity (prenv-kubeconfig)", () => {
  test("reads a namespace and requests prenv-tenant tokens in prenv's namespaces, and can do nothing else", async ({
    access,
    bot,
    admin,
    ns: unlabelled,
    freshName,
  }) => {
    const own = freshName("access");
    await prenvNamespace(bot, own);
    const botCore = bot.makeApiClient(CoreV1Api);
    await botCore.createNamespacedServiceAccount({ namespace: own, body: { metadata: { name: TENANT } } });
    await waitForDefaultServiceAccount(admin, own);

    const core = access.makeApiClient(CoreV1Api);
    expect((await core.readNamespace({ name: own })).metadata?.labels).toMatchObject(MANAGED);
    const issued = await core.createNamespacedServiceAccountToken({
      namespace: own,
      name: TENANT,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const review = await admin
      .makeApiClient(AuthenticationV1Api)
      .createTokenReview({ body: { spec: { token: issued.status!.token! } } });
    expect(review.status?.user?.username).toBe(serviceAccountUser(own, TENANT));

    // Not another service account, not list, not writes, not impersonation, not secrets.
    await expectApiError(
      core.createNamespacedServiceAccountToken({
        namespace: own,
        name: "default",
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      }),
      403,
    );
    await expectApiError(core.listNamespace(), 403);
    await expectApiError(core.createNamespace({ body: { metadata: { name: freshName("no") } } }), 403);
    await expectApiError(core.listNamespacedSecret({ namespace: own }), 403);
    await expectApiError(
      new ImpersonatingKubeConfig(access, { user: serviceAccountUser(own, TENANT) })
        .makeApiClient(CoreV1Api)
        .listNamespacedConfigMap({ namespace: own }),
      403,
    );
    // A prenv-tenant account outside prenv's namespaces gets no token from it.
    await admin
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccount({ namespace: unlabelled, body: { metadata: { name: TENANT } } });
    const outside = await expectApiError(
      core.createNamespacedServiceAccountToken({
        namespace: unlabelled,
        name: TENANT,
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      }),
      403,
    );
    expect(outside).toContain("prenv-bot-namespaced-objects");
  });
});
