// Virtual-cluster environments end to end on the real vcluster (v0.36.1, the syncer prenv deploys;
// see harness/virtual.ts), on the test node: prenv renders its objects on the real host API server
// with the bot's production RBAC and admission policy, the host's controllers make the
// control-plane pod, kube-scheduler and the kubelet run it from the images prenv deploys (packed
// here) with exactly prenv's service account and role; it starts the virtual cluster's API server
// (kine over SQLite as its store) and syncs its pods, which run on the same node, and Ingresses to
// the host; prenv and developers reach the virtual API by its per-PR hostname. The namespace's
// default network policy holds throughout, with the host's API server out of the previews' reach
// as on EKS. Real Probot, signed payloads and the GitHub stand-in as everywhere else.
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  NetworkingV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Pod,
} from "@kubernetes/client-node";
import { accessRoutes, kubeconfigOf, startEndpoint, tokenOf } from "./harness/endpoint.js";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, afterEach, beforeAll, describe, expect, inject } from "vitest";
import { RawKube } from "../../src/adapters/kubernetes/raw.js";
import { endpointKubeConfig } from "../../src/adapters/kubernetes/virtual.js";
import { VCLUSTER_KUBECONFIG_SECRET } from "../../src/environment/guards.js";
import {
  DEFAULT_EGRESS_DENY,
  VCLUSTER_IMAGE,
  VCLUSTER_KUBERNETES_IMAGE,
} from "../../src/runtime/env-schema.js";
import { ADMIN_CONTEXT } from "./harness/controlplane.js";
import { clusterTest as test } from "./harness/fixtures.js";
import {
  eventually,
  expectApiError,
  ingressBody,
  waitForDefaultServiceAccount,
} from "./harness/k8s-helpers.js";
import { loadKubeConfig } from "../../src/adapters/kubernetes/kubeconfig.js";
import {
  SHA1,
  SHA2,
  cleanupRigs,
  command,
  commandRoutes,
  deleteAfterTest,
  everythingPosted,
  namespaceExists,
  push,
  setup,
  type Setup,
} from "./harness/pr-rig.js";
import { asVclusterServiceAccount, startVclusterNode, type VclusterNode } from "./harness/virtual.js";
import { execIn, fetchFrom, isReady, nodeContainers, tagImage } from "./harness/workloads.js";

const MINUTE = 60_000;
const started = Date.now();
const nodeInfo = inject("node");
// Where the tier runs without a node (PRENV_SKIP_NODE, PRENV_TEST_KUBECONFIG), nothing runs the pod.
const unavailable = nodeInfo ? null : `no test node: ${inject("nodeSkipReason")}`;
if (unavailable) console.warn(`vcluster tests SKIPPED: ${unavailable}`);
/** The image of the PR's probe pod, tagged per commit as a PR's CI would push it. */
const PROBE_IMAGE = "prenv.test/probe";
/** Every node's link to the host is in this range (node.ts); the host's API server is at its host end. */
const NODE_LINKS = "198.18.0.0/15";
let node: VclusterNode;
beforeAll(async () => {
  if (!nodeInfo) return;
  const admin = loadKubeConfig(inject("kubeconfig"), ADMIN_CONTEXT);
  // Builds vcluster and packs its images on a cold cache (CI builds them first: see .ci/run).
  node = await startVclusterNode(admin, nodeInfo, (l) => console.log(`[vcluster] ${l}`));
  for (const sha of [SHA1, SHA2])
    tagImage(nodeInfo, nodeInfo.images.web!, `${PROBE_IMAGE}:${sha.slice(0, 7)}`);
}, 20 * MINUTE);
afterAll(async () => {
  await node?.stop();
  console.log(`[vcluster] test file took ${Math.round((Date.now() - started) / 1000)} s`);
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
---
apiVersion: v1
kind: Pod
metadata:
  name: probe
  namespace: shop-${suffix}
spec:
  securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }
  terminationGracePeriodSeconds: 2
  containers:
    - name: probe
      image: "${PROBE_IMAGE}:{{shortSha}}"
      imagePullPolicy: IfNotPresent
      readinessProbe: { httpGet: { path: /healthz/ready, port: 8080 }, periodSeconds: 1 }
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }
`,
  };
}

function vclusterSettings(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PRENV_VCLUSTER_API_ADDRESS: node.address,
    PRENV_VCLUSTER_READY_TIMEOUT_SECONDS: "240",
    // As on EKS, where the API server's addresses are in the VPC's private ranges: the host's API
    // is out of the previews' reach, and only the control plane may reach it (on 443).
    PRENV_EGRESS_DENY_CIDRS: [...DEFAULT_EGRESS_DENY, NODE_LINKS].join(","),
    PRENV_HOST_API_CIDRS: node.hostApiCidr,
    ...extra,
  };
}

/** A vcluster PR opened and deployed, its control-plane pod run by the real syncer. */
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
  await s.rig.deliver("pull_request", s.opened);
  await s.rig.settle();
  const ns = await admin.makeApiClient(CoreV1Api).readNamespace({ name: s.ns });
  const state = ns.metadata?.annotations?.["prenv.dev/state"];
  if (state !== "ready") {
    throw new Error(
      `the PR's environment is ${state}, not ready: ${s.comments.comments[0]?.body}\n${syncerTail(s.ns)}`,
    );
  }
  return { s, inside: await insideAdmin(admin, s.ns) };
}

/** The end of the syncer's log, for failure messages. */
function syncerTail(ns: string): string {
  return `--- vcluster syncer log (last 30 lines)\n${node.log(ns).trimEnd().split("\n").slice(-30).join("\n")}`;
}

/** The virtual cluster as its admin: the credentials it published, through its per-PR host. */
async function insideAdmin(admin: KubeConfig, ns: string): Promise<KubeConfig> {
  const secret = await admin
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ name: VCLUSTER_KUBECONFIG_SECRET, namespace: ns });
  const data = secret.data ?? {};
  return endpointKubeConfig(
    { apiHost: `${ns}.api.preview.test`, address: node.address },
    {
      caData: data["certificate-authority"]!,
      certData: data["client-certificate"]!,
      keyData: data["client-key"]!,
    },
  );
}

/** A host pod the syncer made of pod `name` in namespace `vns` of the virtual cluster. */
async function syncedPod(admin: KubeConfig, ns: string, name: string, vns: string) {
  const core = admin.makeApiClient(CoreV1Api);
  const hostName = `${name}-x-${vns}-x-vcluster`;
  await eventually(`pod ${vns}/${name} synced to the host`, 60_000, () =>
    core.readNamespacedPod({ name: hostName, namespace: ns }).then(
      (p) => !p.metadata?.deletionTimestamp,
      () => false,
    ),
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${syncerTail(ns)}`);
  });
  return core.readNamespacedPod({ name: hostName, namespace: ns });
}

/** Waits until the host pod `name` of `ns` runs Ready on the test node; returns it. */
async function runningOnNode(admin: KubeConfig, ns: string, name: string): Promise<V1Pod> {
  const core = admin.makeApiClient(CoreV1Api);
  let pod: V1Pod | undefined;
  await eventually(`pod ${name} Running and Ready on the node`, 2 * MINUTE, async () => {
    pod = await core.readNamespacedPod({ name, namespace: ns }).catch(() => pod);
    return pod !== undefined && isReady(pod);
  }).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${JSON.stringify(pod?.status, null, 1)}\n${syncerTail(ns)}`);
  });
  expect(pod!.spec?.nodeName).toBe(nodeInfo!.name);
  return pod!;
}

/** Nothing of `ns` is left on the node: no container, no sandbox. */
async function nodeHoldsNothingOf(ns: string): Promise<void> {
  await eventually(`no container of ${ns} on the node`, MINUTE, () =>
    Promise.resolve(nodeContainers(nodeInfo!, ns).length === 0),
  );
}

/** The syncer was never refused by the host's RBAC: prenv-vcluster grants all it needs. */
function expectNoForbidden(ns: string): void {
  const refused = node
    .log(ns)
    .split("\n")
    .filter((l) => l.includes(`system:serviceaccount:${ns}:vc-vcluster`) && /forbidden/i.test(l));
  expect(refused).toEqual([]);
}

/**
 * Waits (in the background) for prenv's vcluster Deployment in `namespace`, then writes `data` into
 * the Secret the vcluster publishes, acting as the vcluster's service account. `stop()` ends it.
 */
function plantWhenInstalled(admin: KubeConfig, namespace: string, data: Record<string, string>) {
  let stopped = false;
  const raw = new RawKube(admin);
  const done = (async () => {
    while (!stopped) {
      const installed = await raw
        .request("GET", `/apis/apps/v1/namespaces/${namespace}/deployments/vcluster`)
        .then(
          () => true,
          () => false,
        );
      if (installed) {
        await new RawKube(asVclusterServiceAccount(admin, namespace)).apply(
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: VCLUSTER_KUBECONFIG_SECRET, namespace },
            type: "Opaque",
            data,
          } as never,
          { fieldManager: "vcluster", force: true },
        );
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("stopped before prenv installed the virtual cluster");
  })();
  done.catch(() => undefined);
  return { done, stop: () => void (stopped = true) };
}

const RESTRICTED = {
  pod: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
  container: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
};

/** A pod serving the web image's readiness endpoint, labelled `labels`. */
function webPod(name: string, image: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      securityContext: RESTRICTED.pod,
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name,
          image,
          imagePullPolicy: "IfNotPresent",
          readinessProbe: { httpGet: { path: "/healthz/ready", port: 8080 }, periodSeconds: 1 },
          securityContext: RESTRICTED.container,
        },
      ],
    },
  };
}

/**
 * Egress under the namespace's default policy, with the host's API server in a denied range: the
 * PR's pods resolve names through the virtual cluster's DNS (its CoreDNS pod runs on the node) and
 * reach the virtual API, never the host's; only the control plane does (policy
 * prenv-vcluster-host-api selects app=vcluster,release=vcluster). A pod the tenant labels so
 * inside the virtual cluster does not carry those labels on the host: vcluster rewrites `release`.
 */
async function expectEgressHeld(admin: KubeConfig, inside: KubeConfig, ns: string, vns: string) {
  const core = admin.makeApiClient(CoreV1Api);
  const hostApi = `http://${node.hostApiCidr.replace(/\/32$/, "")}:443/`;
  const probe = (await runningOnNode(admin, ns, `probe-x-${vns}-x-vcluster`)).metadata!.name!;
  const dns = (await core.listNamespacedPod({ namespace: ns, labelSelector: "k8s-app=vcluster-kube-dns" }))
    .items;
  expect(dns).toHaveLength(1);
  await runningOnNode(admin, ns, dns[0]!.metadata!.name!);
  const virtualApi = await inside
    .makeApiClient(CoreV1Api)
    .readNamespacedService({ name: "kubernetes", namespace: "default" });
  expect(
    (
      await execIn(admin, ns, probe, ["/testapp", "lookup", "kubernetes.default.svc.cluster.local"])
    ).stdout.trim(),
  ).toBe(virtualApi.spec?.clusterIP);
  // What the virtual cluster does not serve, its DNS asks the host cluster's DNS (the one resolver
  // the default policy allows): here the host's own Service of the virtual cluster.
  const hostService = await core.readNamespacedService({ name: "vcluster", namespace: ns });
  expect(
    (
      await execIn(admin, ns, probe, ["/testapp", "lookup", `vcluster.${ns}.svc.cluster.local`])
    ).stdout.trim(),
  ).toBe(hostService.spec?.clusterIP);
  const version = await execIn(admin, ns, probe, ["/testapp", "kube", "/version"]);
  expect(version.stdout).toMatch(/^status 200\n/);
  expect(JSON.parse(version.stdout.slice(version.stdout.indexOf("\n") + 1))).toMatchObject({
    gitVersion: "v1.34.4",
  });
  expect(await fetchFrom(admin, ns, probe, hostApi)).toMatch(/^error /);

  await inside.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace: "default",
    body: webPod("impostor", `${PROBE_IMAGE}:1111111`, { app: "vcluster", release: "vcluster" }),
  });
  const impostor = await runningOnNode(
    admin,
    ns,
    (await syncedPod(admin, ns, "impostor", "default")).metadata!.name!,
  );
  const labels = impostor.metadata?.labels ?? {};
  expect(labels.app).toBe("vcluster");
  expect(labels.release).toBeUndefined();
  expect(Object.entries(labels)).toContainEqual([
    expect.stringMatching(/^vcluster\.loft\.sh\/label-vcluster-x-/),
    "vcluster",
  ]);
  const policy = await admin
    .makeApiClient(NetworkingV1Api)
    .readNamespacedNetworkPolicy({ name: "prenv-vcluster-host-api", namespace: ns });
  const selects = (pod: V1Pod) =>
    Object.entries(policy.spec?.podSelector?.matchLabels ?? {}).every(
      ([k, v]) => pod.metadata?.labels?.[k] === v,
    );
  const controlPlane = (
    await core.listNamespacedPod({ namespace: ns, labelSelector: "app=vcluster,release=vcluster" })
  ).items;
  expect(controlPlane.map((p) => [p.metadata?.name, selects(p)])).toEqual([
    [(await node.metrics(ns)).pod, true],
  ]);
  expect(selects(impostor)).toBe(false);
  // Nor does it join the control plane's Service (the per-PR API host's backend).
  const api = await admin
    .makeApiClient(DiscoveryV1Api)
    .listNamespacedEndpointSlice({ namespace: ns, labelSelector: "kubernetes.io/service-name=vcluster" });
  expect(api.items.flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses))).toEqual([
    controlPlane[0]!.status?.podIP,
  ]);
  expect(await fetchFrom(admin, ns, impostor.metadata!.name!, hostApi)).toMatch(/^error /);

  // Where no policy applies, the same probe reaches the host's API server (it answers a plain
  // HTTP request on its TLS port with 400): the errors above are the policy's.
  const open = `t-open-${randomBytes(3).toString("hex")}`;
  deleteAfterTest(admin, open);
  await core.createNamespace({ body: { metadata: { name: open } } });
  await waitForDefaultServiceAccount(admin, open);
  await core.createNamespacedPod({ namespace: open, body: webPod("open", nodeInfo!.images.web!) });
  await runningOnNode(admin, open, "open");
  expect(await fetchFrom(admin, open, "open", hostApi)).toMatch(/^status 400\n/);
}

async function exists(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => true,
    () => false,
  );
}

describe.skipIf(unavailable !== null)("virtual-cluster preview environments", () => {
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

  test(
    "open installs a virtual cluster behind the host guards and deploys CRDs, ClusterRoles and namespaces inside it; its pods run on the host; push prunes inside; close deletes the host namespace",
    async ({ bot, admin, access }) => {
      const { s, inside } = await deployedVirtual(bot, admin, "e2e", {
        PRENV_PUBLIC_URL: "https://prenv.example.test",
      });
      const startup = await node.metrics(s.ns);
      console.log(
        `[vcluster] first Ready answer of the virtual API ${startup.readyAfterMs} ms after the syncer started ` +
          `(pod Ready ${startup.podReadyAfterS} s after its creation); memory: the syncer container's cgroup ` +
          `${startup.memoryMiB} MiB (peak ${startup.peakMemoryMiB} MiB; the pod's ${startup.podMemoryMiB} MiB), ` +
          `RSS (KiB) ${JSON.stringify(startup.rssKiB)}`,
      );
      const pod = (
        await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "vcluster", namespace: s.ns })
      ).spec!.template.spec!;
      expect({ image: pod.containers[0]!.image, serviceAccount: pod.serviceAccountName }).toEqual({
        image: "ghcr.io/loft-sh/vcluster-oss:0.36.1",
        serviceAccount: "vc-vcluster",
      });
      // The pod prenv's Deployment made runs on the node, from the images prenv deploys: the
      // distro's init container copied its binaries, the syncer runs.
      const controlPlane = await runningOnNode(admin, s.ns, startup.pod);
      expect(
        controlPlane.status?.initContainerStatuses?.map((c) => [c.image, c.state?.terminated?.exitCode]),
      ).toEqual([[VCLUSTER_KUBERNETES_IMAGE, 0]]);
      expect(controlPlane.status?.containerStatuses?.map((c) => c.image)).toEqual([VCLUSTER_IMAGE]);
      expect(startup.node).toBe(nodeInfo!.name);
      // What it runs, all as the non-root user of prenv's pod: the syncer, the virtual cluster's API
      // server and controller manager, kine.
      expect(startup.users).toEqual([12345]);
      expect(Object.keys(startup.rssKiB).sort()).toEqual(
        expect.arrayContaining(["kine", "kube-apiserver", "kube-controller", "vcluster"]),
      );

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

      // On the host, what the syncer copied there: the PR's pod, as the workload service account
      // with no host token, admitted by the host's Pod Security; the preview Ingress, by the policy.
      const synced = await syncedPod(admin, s.ns, "probe", "shop-e2e");
      expect(synced.metadata?.labels?.["vcluster.loft.sh/managed-by"]).toBe("vcluster");
      expect(synced.spec?.serviceAccountName).toBe("vc-workload-vcluster");
      expect(synced.spec?.automountServiceAccountToken).toBe(false);
      expect(synced.spec?.containers[0]?.image).toBe(`${PROBE_IMAGE}:1111111`);
      // It runs on the node, Ready by its own probe.
      await runningOnNode(admin, s.ns, synced.metadata!.name!);
      await eventually("the preview Ingress synced to the host", 60_000, async () =>
        (await admin.makeApiClient(NetworkingV1Api).listNamespacedIngress({ namespace: s.ns })).items.some(
          (i) =>
            i.metadata?.name !== "prenv-vcluster-api" && i.spec?.rules?.[0]?.host === `${s.ns}.preview.test`,
        ),
      );

      // GitHub: ready, with the preview URL, the virtual cluster's API and how to get a kubeconfig.
      expect(s.comments.comments).toHaveLength(1);
      const body = s.comments.comments[0]!.body;
      expect(body).toContain("Preview environment: ready");
      expect(body).toContain(`https://${s.ns}.preview.test/`);
      expect(body).toContain(`API at https://${apiHost}`);
      expect(body).toContain(`npx prenv kubeconfig ${s.owner}/${s.repo}#7 --url https://prenv.example.test`);
      expect(s.deployments.latestStatus(s.deployments.deployments[0]!.id)).toMatchObject({
        state: "success",
      });

      // A kubeconfig for the virtual cluster: a TokenRequest token of prenv's developer account there.
      // Issued by the endpoint's own identity (which reads the vcluster's Secret with a tenant token).
      const users = accessRoutes(s);
      const endpoint = await startEndpoint(s, access, s.settings, users.oauth);
      const res = await endpoint.get(`/api/kubeconfig/${s.owner}/${s.repo}/7`, users.tokens.bob);
      await endpoint.close();
      expect(res.status, res.body).toBe(200);
      const issued = kubeconfigOf(res.body).getCurrentCluster()!;
      expect(issued.server).toBe(`https://${apiHost}`);
      // Production DNS sends the per-PR host to the ingress controller; here, to the SNI passthrough.
      const developer = new KubeConfig();
      developer.loadFromOptions({
        clusters: [
          { name: "v", server: `https://${node.address}`, tlsServerName: apiHost, caData: issued.caData },
        ],
        users: [{ name: "v", token: tokenOf(res.body) }],
        contexts: [{ name: "v", cluster: "v", user: "v" }],
        currentContext: "v",
      });
      const me = await developer.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
      expect(me.status?.userInfo?.username).toBe("system:serviceaccount:kube-system:prenv-developer");
      const crds = await developer.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
      expect(crds.items.map((c) => c.metadata?.name)).toContain("widgets.e2e.acme.test");
      // kubectl get nodes (the node its pods were scheduled to), kubectl get pods -A.
      const nodes = await developer.makeApiClient(CoreV1Api).listNode();
      expect(nodes.items.map((n) => n.metadata?.name)).toContain(nodeInfo!.name);
      const allPods = await developer.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      expect(allPods.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toContain(
        "shop-e2e/probe",
      );
      expect(`${everythingPosted(s)}${endpoint.logs.join("")}`).not.toContain(tokenOf(res.body));
      // TLS is verified for the per-PR host, not for the address connected to: another name fails
      // (straight to the pod, past the passthrough, which routes no other name).
      const direct = await node.forward(s.ns);
      try {
        const elsewhere = endpointKubeConfig(
          { apiHost: `${s.ns}.api.elsewhere.test`, address: direct.address },
          { caData: issued.caData!, token: tokenOf(res.body) },
        );
        await expect(new RawKube(elsewhere).request("GET", "/readyz")).rejects.toMatchObject({
          code: "ERR_TLS_CERT_ALTNAME_INVALID",
        });
      } finally {
        await direct.close();
      }
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
      expect(
        (await core.readNamespace({ name: s.ns })).metadata?.annotations?.["prenv.dev/deployed-sha"],
      ).toBe(SHA2);

      expectNoForbidden(s.ns);

      // Close: the host namespace goes, and with it the virtual cluster: its pod, what it synced.
      (s.pr.pr as { state: string }).state = "closed";
      await s.rig.deliver("pull_request", { ...s.opened, action: "closed" });
      await s.rig.settle();
      expect(await namespaceExists(admin, s.ns)).toBe(false);
      await eventually("the host namespace deleted with everything in it", 2 * MINUTE, () =>
        core.readNamespace({ name: s.ns }).then(
          () => false,
          () => true,
        ),
      );
      expect(await node.running(s.ns)).toBe(false);
      await nodeHoldsNothingOf(s.ns);
      expect(s.comments.comments[0]!.body).toContain("deleted");
      expect(everythingPosted(s)).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|client-key|eyJhbGci/);
      s.standIn.verify();
    },
    8 * MINUTE,
  );

  test("a virtual cluster without usable credentials is reported as failed, with the host namespace's diagnosis; a kubeconfig plugin planted in its Secret never runs", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, {
      config: VCLUSTER_CONFIG,
      files: platformManifests("late"),
      // Its pod never runs: no registry serves this image (the node has only the ones packed here).
      settings: vclusterSettings({
        PRENV_VCLUSTER_READY_TIMEOUT_SECONDS: "10",
        PRENV_VCLUSTER_KUBERNETES_IMAGE: "registry.invalid/loft-sh/kubernetes:v1.34.4",
      }),
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
    // Its pod never runs (the node cannot pull its image); someone with write access to the
    // namespace's Secrets plants this one.
    const planting = plantWhenInstalled(admin, s.ns, { config: Buffer.from(hostile).toString("base64") });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    planting.stop();
    await planting.done;
    const body = s.comments.comments[0]!.body;
    expect(body).toContain("deployment failed");
    expect(body).toContain(
      "The virtual cluster did not start within 10 s: its Secret vc-vcluster lacks certificate-authority, client-certificate, client-key",
    );
    // Its pod on the host, as the diagnosis lists it: the node cannot pull its image (no registry
    // answers here).
    expect(body).toMatch(/Pod vcluster-[a-z0-9-]+: (ErrImagePull|ImagePullBackOff)/);
    expect(existsSync(planted)).toBe(false);
    const ns = await admin.makeApiClient(CoreV1Api).readNamespace({ name: s.ns });
    expect(ns.metadata?.annotations?.["prenv.dev/state"]).toBe("failed");
    expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "failure" });
    s.standIn.verify();
  });

  test(
    "on the host, what a virtual cluster syncs is still held by the guards: only its own preview host, no snippets, Pod Security, no way to the host's API server, not even for a pod labelled as the control plane",
    async ({ bot, admin }) => {
      const { s, inside } = await deployedVirtual(bot, admin, "guards");
      // The real syncer copies an Ingress for another PR's host: the host's admission policy refuses it.
      await inside.makeApiClient(NetworkingV1Api).createNamespacedIngress({
        namespace: "default",
        body: ingressBody("steal", "pr-1-someone-else-abcdef.preview.test", "shop"),
      });
      await eventually("the syncer refused by the Ingress policy", 60_000, () =>
        Promise.resolve(node.log(s.ns).includes("prenv-preview-ingresses")),
      );
      const hostIngresses = await admin
        .makeApiClient(NetworkingV1Api)
        .listNamespacedIngress({ namespace: s.ns });
      expect(hostIngresses.items.flatMap((i) => i.spec?.rules?.map((r) => r.host) ?? [])).not.toContain(
        "pr-1-someone-else-abcdef.preview.test",
      );
      // As the vcluster's syncer, directly: what its role and the host's policies allow it.
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
      expect(snippet).toContain("may not carry ingress-controller annotations");
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

      await expectEgressHeld(admin, inside, s.ns, "shop-guards");
      s.standIn.verify();
    },
    8 * MINUTE,
  );

  test(
    "/env sleep scales the control plane down and deletes the pods it synced; /env wake brings it back and deploys inside again",
    async ({ bot, admin }) => {
      const { s } = await deployedVirtual(bot, admin, "sleep", {}, commandRoutes);
      await syncedPod(admin, s.ns, "probe", "shop-sleep");
      const apps = admin.makeApiClient(AppsV1Api);
      const core = admin.makeApiClient(CoreV1Api);
      const syncedPods = async () =>
        (
          await core.listNamespacedPod({
            namespace: s.ns,
            labelSelector: "vcluster.loft.sh/managed-by=vcluster",
          })
        ).items.filter((p) => !p.metadata?.deletionTimestamp);

      await command(s, "Codertocat", "/env sleep");
      expect(
        (await apps.readNamespacedDeployment({ name: "vcluster", namespace: s.ns })).spec?.replicas,
      ).toBe(0);
      await eventually("the control plane's pod stopped", MINUTE, async () => !(await node.running(s.ns)));
      // Nothing of the virtual cluster runs on the host while it sleeps.
      await eventually("the synced pods deleted", 30_000, async () => (await syncedPods()).length === 0);
      expect(await syncedPods()).toEqual([]);
      await nodeHoldsNothingOf(s.ns);

      await command(s, "Codertocat", "/env wake");
      expect(
        (await apps.readNamespacedDeployment({ name: "vcluster", namespace: s.ns })).spec?.replicas,
      ).toBe(1);
      expect(await node.running(s.ns)).toBe(true);
      // An ephemeral virtual cluster wakes empty: prenv deployed the PR into it again.
      const inside = await insideAdmin(admin, s.ns);
      const again = await inside
        .makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ name: "settings", namespace: "default" });
      expect(again.data?.host).toBe(`${s.ns}.preview.test`);
      const probe = await syncedPod(admin, s.ns, "probe", "shop-sleep");
      await runningOnNode(admin, s.ns, probe.metadata!.name!);
      expect((await core.readNamespace({ name: s.ns })).metadata?.annotations?.["prenv.dev/state"]).toBe(
        "ready",
      );
      expectNoForbidden(s.ns);
      s.standIn.verify();
    },
    10 * MINUTE,
  );
});
