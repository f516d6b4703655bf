// deploy/policy.yaml on the real API server: what a preview's tenant (a PR's manifests, a
// kubeconfig from prenv, a virtual cluster's syncer) cannot create, whoever sends it, because the API
// server refuses it, not prenv's own pre-flight checks. Every object here is sent as the namespace's
// tenant, straight through the adapter, bypassing the manifest parser.
import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect } from "vitest";
import { KubernetesCluster } from "../../src/adapters/kubernetes/cluster.js";
import { parseRepoConfig } from "../../src/config/parse.js";
import { namespaceObjects } from "../../src/environment/guards.js";
import type { KubeObject } from "../../src/manifests/objects.js";
import { MANAGED_BY } from "../../src/environment/record.js";
import { PrenvError } from "../../src/errors.js";
import { loadTemplates } from "../../src/runtime/templates.js";
import { testSettings } from "../support/settings.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { waitForDefaultServiceAccount } from "./harness/k8s-helpers.js";

const templates = loadTemplates();
const settings = testSettings({ PRENV_POD_SECURITY_VERSION: "v1.34", PRENV_INGRESS_CLASS: "previews" });

async function environment(cluster: KubernetesCluster, namespace: string): Promise<void> {
  const config = parseRepoConfig({});
  if (!config.ok) throw new Error("bad test config");
  await cluster.applyAsBot(
    namespaceObjects(templates.guards, {
      namespace,
      labels: { ...MANAGED_BY, "prenv.dev/pr": "1", "prenv.dev/repo-id": "1" },
      annotations: {
        "prenv.dev/repository": "acme/web",
        "prenv.dev/preview-host": `${namespace}.preview.test`,
        "prenv.dev/ingress-class": "previews",
      },
      config: config.config,
      settings: settings.environment,
    }),
  );
}

async function refusal(cluster: KubernetesCluster, ns: string, object: KubeObject): Promise<string> {
  const err = await cluster.applyAsTenant(ns, [object], { dryRun: false }).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof PrenvError))
    throw new Error(`expected a refusal of ${object.kind}, got ${String(err)}`);
  expect(err.code).toBe("MANIFEST_INVALID");
  return err.message;
}

const pod = (serviceAccountName: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: `as-${serviceAccountName}` },
  spec: {
    serviceAccountName,
    automountServiceAccountToken: true,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "c",
        image: "registry.invalid/x:1",
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      },
    ],
  },
});

const ingress = (ns: string, annotations: Record<string, string>, ingressClassName?: string): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name: "web", annotations },
  spec: {
    ...(ingressClassName ? { ingressClassName } : {}),
    rules: [{ host: `${ns}.preview.test` }],
  },
});

describe("deploy/policy.yaml holds a preview's tenant to its namespace", () => {
  test("ExternalName and externalIPs Services are refused by the API server", async ({ bot, freshName }) => {
    const ns = freshName("svc");
    const cluster = new KubernetesCluster(bot);
    await environment(cluster, ns);
    expect(
      await refusal(cluster, ns, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "db" },
        spec: { type: "ExternalName", externalName: "kubernetes.default.svc.cluster.local" },
      }),
    ).toContain("ExternalName are not allowed");
    expect(
      await refusal(cluster, ns, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "grab" },
        spec: { selector: { app: "x" }, ports: [{ port: 80 }], externalIPs: ["203.0.113.9"] },
      }),
    ).toContain("externalIPs are not allowed");
  });

  test("Ingresses must use the installation's class and no controller annotations", async ({
    bot,
    freshName,
  }) => {
    const ns = freshName("ing");
    const cluster = new KubernetesCluster(bot);
    await environment(cluster, ns);
    expect(await refusal(cluster, ns, ingress(ns, {}, "public"))).toContain(
      "must set spec.ingressClassName: previews",
    );
    expect(await refusal(cluster, ns, ingress(ns, {}))).toContain("must set spec.ingressClassName");
    for (const annotation of [
      "nginx.ingress.kubernetes.io/server-alias",
      "nginx.ingress.kubernetes.io/configuration-snippet",
      "traefik.ingress.kubernetes.io/router.rule",
      "kubernetes.io/ingress.class",
    ]) {
      expect(await refusal(cluster, ns, ingress(ns, { [annotation]: "previews" }, "previews"))).toContain(
        "may not carry ingress-controller annotations",
      );
    }
    // The passthrough annotations of prenv's own API Ingress are only for virtual-cluster namespaces.
    const api = ingress(ns, { "nginx.ingress.kubernetes.io/ssl-passthrough": "true" }, "previews");
    api.metadata.name = "prenv-vcluster-api";
    expect(await refusal(cluster, ns, api)).toContain("may not carry ingress-controller annotations");
    await cluster.applyAsTenant(
      ns,
      [ingress(ns, { "app.kubernetes.io/part-of": "web", note: "x" }, "previews")],
      {
        dryRun: false,
      },
    );
  });

  test("pods may not run as prenv's service accounts, and the tenant may not change them", async ({
    bot,
    admin,
    freshName,
  }) => {
    const ns = freshName("sa");
    const cluster = new KubernetesCluster(bot);
    await environment(cluster, ns);
    await waitForDefaultServiceAccount(admin, ns);
    expect(await refusal(cluster, ns, pod("prenv-tenant"))).toContain(
      "may not run as the service account prenv-tenant",
    );
    // In namespace mode the virtual cluster's account has no business existing; made by the bot
    // here so that the policy, not the missing account, is what refuses the pod.
    await cluster.applyAsBot([
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "vc-vcluster", namespace: ns } },
    ]);
    expect(await refusal(cluster, ns, pod("vc-vcluster"))).toContain(
      "may not run as the service account vc-vcluster",
    );
    expect(
      await refusal(cluster, ns, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "prenv-tenant" },
        automountServiceAccountToken: true,
      }),
    ).toContain("only prenv's bot may change them");
    const sa = await admin
      .makeApiClient(CoreV1Api)
      .readNamespacedServiceAccount({ name: "prenv-tenant", namespace: ns });
    expect(sa.automountServiceAccountToken).toBe(false);
    // The namespace still goes away whole: its deletion may remove them.
    await cluster.deleteNamespace(ns);
  });
});
