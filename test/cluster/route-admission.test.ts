// deploy/policy.yaml's prenv-preview-routes on the real API server (with the Gateway API CRDs the
// test world installs): the routes a preview's tenant (a PR's manifests, a kubeconfig from prenv)
// cannot create, whoever sends them, and what prenv's bot may. Sent straight through the adapter,
// bypassing prenv's own pre-flight checks (route-policy.ts), which the unit tests cover.
import { CoreV1Api } from "@kubernetes/client-node";
import { afterEach, describe, expect } from "vitest";
import { KubernetesCluster } from "../../src/adapters/kubernetes/cluster.js";
import { parseRepoConfig } from "../../src/config/parse.js";
import { namespaceObjects } from "../../src/environment/guards.js";
import { MANAGED_BY } from "../../src/environment/record.js";
import { PrenvError } from "../../src/errors.js";
import type { KubeObject } from "../../src/manifests/objects.js";
import { loadTemplates } from "../../src/runtime/templates.js";
import { testSettings } from "../support/settings.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { cleanupRigs, setup } from "./harness/pr-rig.js";
import { COMMENT_MARKER } from "../../src/report/comment.js";

afterEach(cleanupRigs);

const templates = loadTemplates();
const settings = testSettings({ PRENV_POD_SECURITY_VERSION: "v1.34" });
const GATEWAY = { namespace: "prenv-gateway", name: "prenv" };

async function environment(cluster: KubernetesCluster, namespace: string, vcluster = false): Promise<void> {
  const config = parseRepoConfig(vcluster ? { isolation: "vcluster" } : {});
  if (!config.ok) throw new Error("bad test config");
  await cluster.applyAsBot(
    namespaceObjects(templates.guards, {
      namespace,
      labels: { ...MANAGED_BY, "prenv.dev/pr": "1", "prenv.dev/repo-id": "1" },
      annotations: {
        "prenv.dev/repository": "acme/web",
        "prenv.dev/isolation": vcluster ? "vcluster" : "namespace",
        "prenv.dev/preview-host": `${namespace}.preview.test`,
        ...(vcluster ? { "prenv.dev/api-host": `${namespace}.api.preview.test` } : {}),
        "prenv.dev/gateway": `${GATEWAY.namespace}/${GATEWAY.name}`,
      },
      config: config.config,
      settings: settings.environment,
    }),
  );
}

function httpRoute(ns: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "app", namespace: ns },
    spec: { parentRefs: [GATEWAY], hostnames: [`${ns}.preview.test`], ...spec },
  };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof PrenvError)) throw new Error(`expected a refusal, got ${String(err)}`);
  return err.message;
}

describe("deploy/policy.yaml holds a preview's routes to its host and the operator's Gateway", () => {
  test("the tenant's HTTPRoutes: a foreign host, a wildcard, none, another Gateway or another namespace's backend are refused; its own host on the Gateway passes", async ({
    bot,
    freshName,
  }) => {
    const ns = freshName("rt");
    const cluster = new KubernetesCluster(bot);
    await environment(cluster, ns);
    const asTenant = (spec: Record<string, unknown>) =>
      refusal(cluster.applyAsTenant(ns, [httpRoute(ns, spec)], { dryRun: false }));
    expect(await asTenant({ hostnames: ["shop.example.com"] })).toContain(
      `HTTPRoutes in this preview namespace must list hostnames, each ${ns}.preview.test or a subdomain of it, never a wildcard`,
    );
    expect(await asTenant({ hostnames: [`*.${ns}.preview.test`] })).toContain("never a wildcard");
    expect(await asTenant({ hostnames: [] })).toContain("must list hostnames");
    expect(await asTenant({ parentRefs: [{ namespace: "prenv-gateway", name: "internal" }] })).toContain(
      "routes in this preview namespace may attach only to the Gateway prenv-gateway/prenv",
    );
    expect(await asTenant({ parentRefs: [{ name: "prenv" }] })).toContain("may attach only to the Gateway");
    expect(
      await asTenant({
        rules: [{ backendRefs: [{ name: "kube-dns", namespace: "kube-system", port: 53 }] }],
      }),
    ).toContain("routes in preview namespaces may send traffic only to Services of their own namespace");
    await cluster.applyAsTenant(
      ns,
      [
        httpRoute(ns, {
          hostnames: [`${ns}.preview.test`, `api.${ns}.preview.test`],
          rules: [{ backendRefs: [{ name: "web", port: 80 }] }],
        }),
      ],
      { dryRun: false },
    );
  });

  test("TLSRoutes are the bot's, for the virtual cluster's API host only", async ({ bot, freshName }) => {
    const ns = freshName("tls");
    const cluster = new KubernetesCluster(bot);
    await environment(cluster, ns, true);
    const tlsRoute = (host: string): KubeObject => ({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "TLSRoute",
      metadata: { name: "prenv-vcluster-api", namespace: ns },
      spec: {
        parentRefs: [GATEWAY],
        hostnames: [host],
        rules: [{ backendRefs: [{ name: "vcluster", port: 443 }] }],
      },
    });
    // The tenant has no right to TLSRoutes at all (RBAC), and the policy would refuse it anyway.
    expect(
      await refusal(cluster.applyAsTenant(ns, [tlsRoute(`${ns}.api.preview.test`)], { dryRun: false })),
    ).toMatch(/forbidden|not allowed/i);
    expect(await refusal(cluster.applyAsBot([tlsRoute(`other.api.preview.test`)]))).toContain(
      "TLSRoutes in a preview namespace serve only its virtual cluster's API host",
    );
    await cluster.applyAsBot([tlsRoute(`${ns}.api.preview.test`)]);
  });

  test("the bot makes routes only in prenv's namespaces", async ({ bot, admin, freshName }) => {
    const ns = freshName("plain");
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    const cluster = new KubernetesCluster(bot);
    expect(await refusal(cluster.applyAsBot([httpRoute(ns, {})]))).toContain(
      `prenv may act only in namespaces labelled app.kubernetes.io/managed-by=prenv; ${ns} is not one`,
    );
  });
});

describe("prenv's own checks refuse a PR's hostile routes before anything is applied", () => {
  test("a foreign hostname, a wildcard, another Gateway and another namespace's backend are each named in the comment", async ({
    bot,
    admin,
  }) => {
    const hostile = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: steal }
spec:
  parentRefs: [{ namespace: prenv-gateway, name: internal }]
  hostnames: ["shop.example.com", "*.{{host}}"]
  rules:
    - backendRefs: [{ name: kube-dns, namespace: kube-system, port: 53 }]
`;
    const s = await setup(bot, admin, {
      files: { "deploy/preview/route.yaml": hostile },
      settings: { PRENV_ROUTING: "gateway" },
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    const body = s.comments.comments.find((c) => c.body.startsWith(COMMENT_MARKER))!.body;
    expect(body).toContain("manifests refused");
    // As the comment shows them: Markdown escaped.
    for (const problem of [
      'HTTPRoute/steal: hostname "shop.example.com" is not this preview\'s host',
      `HTTPRoute/steal: the wildcard hostname "\\*.${s.ns}.preview.test" is refused`,
      'HTTPRoute/steal: parent "prenv-gateway/internal" is not this installation\'s Gateway; set parentRefs: \\[\\{ namespace: prenv-gateway, name: prenv \\}\\]',
      'backend "kube-dns" in namespace "kube-system" is outside this preview \\(it would need a ReferenceGrant there\\)',
    ]) {
      expect(body).toContain(problem);
    }
    expect(
      await admin
        .makeApiClient(CoreV1Api)
        .readNamespace({ name: s.ns })
        .then(
          () => true,
          () => false,
        ),
    ).toBe(false);
  });
});
