// Virtual-cluster environments end to end, proven at both ends (see harness/virtual.ts): the host
// side on the real API server with the bot's production RBAC and admission policy, the inside on
// a second real API server standing where the virtual cluster's API would be, reached by its
// per-PR hostname. Real Probot, signed payloads and the GitHub stand-in as everywhere else.
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { accessRoutes, kubeconfigOf, startEndpoint, tokenOf, USER_TOKENS } from "./harness/endpoint.js";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, afterEach, beforeAll, describe, expect, inject } from "vitest";
import { RawKube } from "../../src/adapters/kubernetes/raw.js";
import { endpointKubeConfig } from "../../src/adapters/kubernetes/virtual.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually, expectApiError, ingressBody } from "./harness/k8s-helpers.js";
import {
  SHA1,
  SHA2,
  cleanupRigs,
  command,
  commandRoutes,
  everythingPosted,
  namespaceExists,
  push,
  setup,
  type Setup,
} from "./harness/pr-rig.js";
import {
  asVclusterServiceAccount,
  publishWhenInstalled,
  startVirtualPlane,
  type VirtualPlane,
} from "./harness/virtual.js";

let virtual: VirtualPlane;
beforeAll(async () => {
  virtual = await startVirtualPlane();
}, 60_000);
afterAll(async () => {
  await virtual?.stop();
});
afterEach(cleanupRigs);

const VCLUSTER_CONFIG = `
isolation: vcluster
deploy:
  path: deploy/preview
url:
  service: shop
  port: 8080
resources:
  cpu: "2"
  memory: 2Gi
  pods: 10
`;

/** What a namespace cannot hold: a CRD, a ClusterRole, another namespace, a custom resource. */
function platformManifests(suffix: string, opts: { clusterRole?: boolean } = {}): Record<string, string> {
  const group = `${suffix}.acme.test`;
  return {
    "deploy/preview/crd.yaml": `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, x-kubernetes-preserve-unknown-fields: true }
`,
    ...(opts.clusterRole === false
      ? {}
      : {
          "deploy/preview/rbac.yaml": `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widget-reader-${suffix}
rules:
  - apiGroups: ["${group}"]
    resources: [widgets]
    verbs: [get, list, watch]
`,
        }),
    "deploy/preview/app.yaml": `
apiVersion: v1
kind: Namespace
metadata:
  name: shop-${suffix}
---
apiVersion: ${group}/v1
kind: Widget
metadata:
  name: blue
  namespace: shop-${suffix}
spec:
  colour: blue
  pr: "{{pr}}"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  host: "{{host}}"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: shop-${suffix}
spec:
  replicas: 0
  selector:
    matchLabels: { app: shop }
  template:
    metadata:
      labels: { app: shop }
    spec:
      securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }
      containers:
        - name: shop
          image: "registry.invalid/shop:{{shortSha}}"
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }
---
apiVersion: v1
kind: Service
metadata:
  name: shop
  namespace: shop-${suffix}
spec:
  selector: { app: shop }
  ports: [{ port: 8080 }]
`,
  };
}

function vclusterSettings(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PRENV_VCLUSTER_API_ADDRESS: virtual.address,
    PRENV_VCLUSTER_READY_TIMEOUT_SECONDS: "30",
    ...extra,
  };
}

/** A vcluster PR opened and deployed, with the stand-in vcluster publishing its credentials. */
async function deployedVirtual(
  bot: KubeConfig,
  admin: KubeConfig,
  suffix: string,
  extra: Record<string, string> = {},
  before: (s: Setup) => void = () => undefined,
) {
  const s = await setup(bot, admin, {
    config: VCLUSTER_CONFIG,
    files: platformManifests(suffix),
    settings: vclusterSettings(extra),
  });
  before(s);
  const vcluster = publishWhenInstalled(admin, s.ns, virtual);
  await s.rig.deliver("pull_request", s.opened);
  await s.rig.settle();
  vcluster.stop();
  return { s, installed: await vcluster.published };
}

async function exists(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => true,
    () => false,
  );
}

describe("virtual-cluster preview environments", () => {
  test("the manifests a namespace cannot hold are refused in namespace mode, with the hint to use isolation: vcluster", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, {
      config: VCLUSTER_CONFIG.replace("isolation: vcluster", "isolation: namespace"),
      files: platformManifests("refused"),
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    const body = s.comments.comments[0]!.body;
    expect(body).toContain("manifests refused");
    for (const kind of ["CustomResourceDefinition", "ClusterRole", "Namespace"]) {
      expect(body).toContain(`${kind} is a cluster-scoped kind`);
    }
    expect(body).toContain("isolation: vcluster");
    expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "failure" });
    s.standIn.verify();
  });

  test("open installs a virtual cluster behind the host guards and deploys CRDs, ClusterRoles and namespaces inside it; push prunes inside; close deletes the host namespace", async ({
    bot,
    admin,
  }) => {
    const { s, installed } = await deployedVirtual(bot, admin, "e2e", {
      PRENV_PUBLIC_URL: "https://prenv.example.test",
    });
    expect(installed).toEqual({
      image: "ghcr.io/loft-sh/vcluster-oss:0.37.1",
      serviceAccount: "vc-vcluster",
    });

    // Host side: the same guards as namespace mode, plus the control plane's share of the quota.
    const core = admin.makeApiClient(CoreV1Api);
    const apiHost = `${s.ns}.api.preview.test`;
    const nsObj = await core.readNamespace({ name: s.ns });
    expect(nsObj.metadata?.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "prenv",
      "pod-security.kubernetes.io/enforce": "restricted",
    });
    expect(nsObj.metadata?.annotations).toMatchObject({
      "prenv.dev/isolation": "vcluster",
      "prenv.dev/api-host": apiHost,
      "prenv.dev/preview-host": `${s.ns}.preview.test`,
      "prenv.dev/state": "ready",
      "prenv.dev/deployed-sha": SHA1,
    });
    const quota = await core.readNamespacedResourceQuota({ name: "prenv", namespace: s.ns });
    expect(quota.spec?.hard).toMatchObject({
      "requests.cpu": "3",
      "limits.memory": "3Gi",
      pods: "11",
      "services.loadbalancers": "0",
    });
    await core.readNamespacedLimitRange({ name: "prenv", namespace: s.ns });
    await admin
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ name: "prenv-default-deny", namespace: s.ns });
    const binding = await admin
      .makeApiClient(RbacAuthorizationV1Api)
      .readNamespacedRoleBinding({ name: "vc-vcluster", namespace: s.ns });
    expect(binding.roleRef.name).toBe("prenv-vcluster");
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "vc-vcluster", namespace: s.ns }]);
    const deployment = await admin
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "vcluster", namespace: s.ns });
    expect(deployment.metadata?.managedFields?.map((f) => f.manager)).toContain("prenv");
    const service = await core.readNamespacedService({ name: "vcluster", namespace: s.ns });
    expect(service.spec?.type).toBe("ClusterIP");
    const apiIngress = await admin
      .makeApiClient(NetworkingV1Api)
      .readNamespacedIngress({ name: "prenv-vcluster-api", namespace: s.ns });
    expect(apiIngress.spec?.rules?.[0]?.host).toBe(apiHost);
    expect(apiIngress.metadata?.annotations?.["nginx.ingress.kubernetes.io/ssl-passthrough"]).toBe("true");
    // None of the PR's own objects are on the host.
    expect(await exists(core.readNamespacedConfigMap({ name: "settings", namespace: s.ns }))).toBe(false);
    const hostCrds = admin.makeApiClient(ApiextensionsV1Api);
    expect(await exists(hostCrds.readCustomResourceDefinition({ name: "widgets.e2e.acme.test" }))).toBe(
      false,
    );
    expect(await exists(core.readNamespace({ name: "shop-e2e" }))).toBe(false);

    // Inside: everything the manifests asked for, cluster-scoped objects included.
    const inside = virtual.admin;
    const crd = await inside
      .makeApiClient(ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: "widgets.e2e.acme.test" });
    expect(crd.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
    await inside.makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: "widget-reader-e2e" });
    const widget = (await inside.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: "e2e.acme.test",
      version: "v1",
      namespace: "shop-e2e",
      plural: "widgets",
      name: "blue",
    })) as { spec: Record<string, string> };
    expect(widget.spec).toEqual({ colour: "blue", pr: "7" });
    const vcore = inside.makeApiClient(CoreV1Api);
    const settings = await vcore.readNamespacedConfigMap({ name: "settings", namespace: "default" });
    expect(settings.data).toEqual({ host: `${s.ns}.preview.test` });
    const shop = await inside
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "shop", namespace: "shop-e2e" });
    expect(shop.spec?.template.spec?.containers[0]?.image).toBe("registry.invalid/shop:1111111");
    const preview = await inside
      .makeApiClient(NetworkingV1Api)
      .readNamespacedIngress({ name: "prenv-preview", namespace: "shop-e2e" });
    expect(preview.spec?.rules?.[0]?.host).toBe(`${s.ns}.preview.test`);

    // GitHub: ready, with the preview URL, the virtual cluster's API and how to get a kubeconfig.
    expect(s.comments.comments).toHaveLength(1);
    const body = s.comments.comments[0]!.body;
    expect(body).toContain("Preview environment: ready");
    expect(body).toContain(`https://${s.ns}.preview.test/`);
    expect(body).toContain(`API at https://${apiHost}`);
    expect(body).toContain(`npx prenv kubeconfig ${s.owner}/${s.repo}#7 --url https://prenv.example.test`);
    expect(s.deployments.latestStatus(s.deployments.deployments[0]!.id)).toMatchObject({ state: "success" });

    // A kubeconfig for the virtual cluster: a TokenRequest token of prenv's developer account there.
    accessRoutes(s);
    const endpoint = await startEndpoint(s, bot, s.settings);
    const res = await endpoint.get(`/api/kubeconfig/${s.owner}/${s.repo}/7`, USER_TOKENS.bob);
    await endpoint.close();
    expect(res.status, res.body).toBe(200);
    const issued = kubeconfigOf(res.body).getCurrentCluster()!;
    expect(issued.server).toBe(`https://${apiHost}`);
    // Production DNS sends the per-PR host to the ingress controller; here it is the stand-in's address.
    const developer = new KubeConfig();
    developer.loadFromOptions({
      clusters: [
        { name: "v", server: `https://${virtual.address}`, tlsServerName: apiHost, caData: issued.caData },
      ],
      users: [{ name: "v", token: tokenOf(res.body) }],
      contexts: [{ name: "v", cluster: "v", user: "v" }],
      currentContext: "v",
    });
    const me = await developer.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(me.status?.userInfo?.username).toBe("system:serviceaccount:kube-system:prenv-developer");
    const crds = await developer.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    expect(crds.items.map((c) => c.metadata?.name)).toContain("widgets.e2e.acme.test");
    expect(`${everythingPosted(s)}${endpoint.logs.join("")}`).not.toContain(tokenOf(res.body));
    // TLS is verified for the per-PR host, not for the address connected to: another name fails.
    const elsewhere = endpointKubeConfig(
      { apiHost: `${s.ns}.api.elsewhere.test`, address: virtual.address },
      { caData: issued.caData!, token: tokenOf(res.body) },
    );
    await expect(new RawKube(elsewhere).request("GET", "/readyz")).rejects.toMatchObject({
      code: "ERR_TLS_CERT_ALTNAME_INVALID",
    });
    // Not through the host's API: the virtual cluster's token means nothing there.
    const onHost = new KubeConfig();
    onHost.loadFromOptions({
      clusters: [
        { name: "h", server: bot.getCurrentCluster()!.server, caData: bot.getCurrentCluster()!.caData },
      ],
      users: [{ name: "h", token: tokenOf(res.body) }],
      contexts: [{ name: "h", cluster: "h", user: "h" }],
      currentContext: "h",
    });
    await expectApiError(onHost.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: s.ns }), 401);

    // Push without the ClusterRole: pruned inside the virtual cluster, the rest kept.
    await s.rig.deliver("pull_request", push(s, SHA2, platformManifests("e2e", { clusterRole: false })));
    await s.rig.settle();
    expect(
      await exists(
        inside.makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: "widget-reader-e2e" }),
      ),
    ).toBe(false);
    expect(
      (
        await inside
          .makeApiClient(AppsV1Api)
          .readNamespacedDeployment({ name: "shop", namespace: "shop-e2e" })
      ).spec?.template.spec?.containers[0]?.image,
    ).toBe("registry.invalid/shop:2222222");
    expect((await core.readNamespace({ name: s.ns })).metadata?.annotations?.["prenv.dev/deployed-sha"]).toBe(
      SHA2,
    );

    // Close: the host namespace goes, and with it the virtual cluster.
    (s.pr.pr as { state: string }).state = "closed";
    await s.rig.deliver("pull_request", { ...s.opened, action: "closed" });
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    expect(s.comments.comments[0]!.body).toContain("deleted");
    expect(everythingPosted(s)).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|client-key|eyJhbGci/);
    s.standIn.verify();
  });

  test("a virtual cluster without usable credentials is reported as failed, with the host namespace's diagnosis; a kubeconfig plugin planted in its Secret never runs", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, {
      config: VCLUSTER_CONFIG,
      files: platformManifests("late"),
      settings: vclusterSettings({ PRENV_VCLUSTER_READY_TIMEOUT_SECONDS: "10" }),
    });
    // Its Secret holds only a kubeconfig whose user would run a command (the namespace is shared
    // with the PR's own pods, so what is in it is not trusted).
    const planted = join(tmpdir(), `prenv-planted-${process.pid}-${Date.now()}`);
    const hostile = stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "x", cluster: { server: "https://evil.invalid" } }],
      users: [
        {
          name: "x",
          user: {
            exec: { apiVersion: "client.authentication.k8s.io/v1", command: "touch", args: [planted] },
          },
        },
      ],
      contexts: [{ name: "x", context: { cluster: "x", user: "x" } }],
      "current-context": "x",
    });
    const vcluster = publishWhenInstalled(admin, s.ns, virtual, {
      data: { config: Buffer.from(hostile).toString("base64") },
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    vcluster.stop();
    await vcluster.published;
    const body = s.comments.comments[0]!.body;
    expect(body).toContain("deployment failed");
    expect(body).toContain(
      "The virtual cluster did not start within 10 s: its Secret vc-vcluster lacks certificate-authority, client-certificate, client-key",
    );
    // Its pod on the host, as the diagnosis lists it: the node cannot pull its image (no registry
    // answers here); without a node it stays Pending.
    expect(body).toMatch(
      inject("node")
        ? /Pod vcluster-[a-z0-9-]+: (ErrImagePull|ImagePullBackOff)/
        : /Pod vcluster-[a-z0-9-]+: Pending/,
    );
    expect(existsSync(planted)).toBe(false);
    const ns = await admin.makeApiClient(CoreV1Api).readNamespace({ name: s.ns });
    expect(ns.metadata?.annotations?.["prenv.dev/state"]).toBe("failed");
    expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "failure" });
    s.standIn.verify();
  });

  test("on the host, what a virtual cluster syncs is still held by the guards: only its own preview host, no snippets, Pod Security", async ({
    bot,
    admin,
  }) => {
    const { s } = await deployedVirtual(bot, admin, "guards");
    // As the vcluster's syncer would copy Ingresses and pods its users create.
    const syncer = asVclusterServiceAccount(admin, s.ns);
    const net = syncer.makeApiClient(NetworkingV1Api);
    const ingress = (name: string, host: string, annotations: Record<string, string> = {}) =>
      ingressBody(name, host, "shop-x-shop-guards-x-vcluster", annotations);
    await net.createNamespacedIngress({
      namespace: s.ns,
      body: ingress("shop-x-shop-guards-x-vcluster", `api.${s.ns}.preview.test`),
    });
    for (const [name, host] of [
      ["steal-x-default-x-vcluster", "pr-1-someone-else-abcdef.preview.test"],
      ["api-x-default-x-vcluster", `${s.ns}.api.preview.test`],
      ["wide-x-default-x-vcluster", "*.preview.test"],
    ] as const) {
      const message = await expectApiError(
        net.createNamespacedIngress({ namespace: s.ns, body: ingress(name, host) }),
        403,
      );
      expect(message).toContain("prenv-preview-ingresses");
    }
    const snippet = await expectApiError(
      net.createNamespacedIngress({
        namespace: s.ns,
        body: ingress("snip-x-default-x-vcluster", `${s.ns}.preview.test`, {
          "nginx.ingress.kubernetes.io/server-snippet": "location / { proxy_pass http://169.254.169.254; }",
        }),
      }),
      403,
    );
    expect(snippet).toContain("snippet");
    const privileged = await expectApiError(
      syncer.makeApiClient(CoreV1Api).createNamespacedPod({
        namespace: s.ns,
        body: {
          metadata: { name: "root-x-default-x-vcluster" },
          spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] },
        },
      }),
      403,
    );
    expect(privileged).toContain("violates PodSecurity");
    // The syncer's role stops at its namespace.
    await expectApiError(
      syncer.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: "kube-system" }),
      403,
    );
    await expectApiError(syncer.makeApiClient(CoreV1Api).listNode(), 403);
    s.standIn.verify();
  });

  test("/env sleep scales the control plane down and deletes the pods it synced; /env wake brings it back and deploys inside again", async ({
    bot,
    admin,
  }) => {
    const { s } = await deployedVirtual(bot, admin, "sleep", {}, commandRoutes);
    // A pod the vcluster synced to the host (restricted-compliant, as the host admits it).
    const syncer = asVclusterServiceAccount(admin, s.ns);
    await syncer.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: s.ns,
      body: {
        metadata: {
          name: "shop-1-x-shop-sleep-x-vcluster",
          labels: { "vcluster.loft.sh/managed-by": "vcluster" },
        },
        spec: {
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "c",
              image: "busybox",
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    });
    // Someone deletes what ran inside (as a restarted, ephemeral virtual cluster would have lost it).
    await virtual.admin
      .makeApiClient(CoreV1Api)
      .deleteNamespacedConfigMap({ name: "settings", namespace: "default" });

    const raw = new RawKube(admin);
    const apps = admin.makeApiClient(AppsV1Api);
    await command(s, "Codertocat", "/env sleep");
    expect((await apps.readNamespacedDeployment({ name: "vcluster", namespace: s.ns })).spec?.replicas).toBe(
      0,
    );
    await eventually(
      "synced pod deleted",
      10_000,
      async () =>
        await raw.request("GET", `/api/v1/namespaces/${s.ns}/pods/shop-1-x-shop-sleep-x-vcluster`).then(
          (p) => Boolean((p as { metadata: { deletionTimestamp?: string } }).metadata.deletionTimestamp),
          () => true,
        ),
    );

    await command(s, "Codertocat", "/env wake");
    expect((await apps.readNamespacedDeployment({ name: "vcluster", namespace: s.ns })).spec?.replicas).toBe(
      1,
    );
    const again = await virtual.admin
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: "settings", namespace: "default" });
    expect(again.data?.host).toBe(`${s.ns}.preview.test`);
    s.standIn.verify();
  });
});
