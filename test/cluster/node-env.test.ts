// Preview environments whose pods really run: the real Probot app and worker (GitHub stand-in at
// the HTTP boundary) deploy PRs onto the test node, and the tests look at what the kubelet,
// containerd and the pod network did, and at what the PR comment says about it.
import { AppsV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect } from "vitest";
import { COMMENT_MARKER } from "../../src/report/comment.js";
import { pullRequestPayload } from "../support/payloads.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually } from "./harness/k8s-helpers.js";
import {
  SHA1,
  SHA2,
  cleanupRigs,
  command,
  commandRoutes,
  push,
  setup,
  type Setup,
} from "./harness/pr-rig.js";
import {
  app,
  fetchFrom,
  isReady,
  nodeContainers,
  nodeTasks,
  podInterfaces,
  podNetworkNamespaces,
  podsOf,
} from "./harness/workloads.js";

afterEach(cleanupRigs);

const ours = (s: Setup) => s.comments.comments.find((c) => c.body.startsWith(COMMENT_MARKER))!.body;
const state = async (admin: KubeConfig, ns: string) =>
  (await admin.makeApiClient(CoreV1Api).readNamespace({ name: ns })).metadata?.annotations?.[
    "prenv.dev/state"
  ];

async function open(s: Setup): Promise<void> {
  await s.rig.deliver("pull_request", s.opened);
  await s.rig.settle();
}

describe("on the test node", () => {
  test("open: two replicas behind a readiness probe run and become Ready, the comment says ready, and the Service answers with the PR's commit; push: a new ReplicaSet rolls out and pruned objects' pods go away; close: nothing of the PR is left on the node", async ({
    bot,
    admin,
    node,
  }) => {
    const interfacesBefore = new Set(podInterfaces(node));
    const netnsBefore = new Set(podNetworkNamespaces(node));
    const s = await setup(bot, admin, {
      files: {
        "deploy/preview/web.yaml": app({ image: node.images.web!, replicas: 2 }),
        "deploy/preview/worker.yaml": app({ name: "worker", image: node.images.web!, replicas: 1 }),
      },
      rolloutSeconds: 60,
    });

    await open(s);
    const web = await podsOf(admin, s.ns, "web");
    expect(web).toHaveLength(2);
    for (const p of web) {
      expect(p.spec?.nodeName).toBe(node.name);
      expect(p.status?.phase).toBe("Running");
      expect(isReady(p)).toBe(true);
    }
    expect(ours(s)).toContain("✅ Preview environment: ready");
    expect(await state(admin, s.ns)).toBe("ready");
    expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "success" });
    // From inside the cluster: the worker's pod asks the web Service by its DNS name.
    const [worker] = await podsOf(admin, s.ns, "worker");
    const viaService = () =>
      fetchFrom(admin, s.ns, worker!.metadata!.name!, `http://web.${s.ns}.svc.cluster.local:8080/`);
    // Within moments of "ready": kube-proxy programs the Service's new endpoints a little after the
    // pods turn Ready (the same lag a real node has), so the first answer may still be a refusal.
    const served = new RegExp(`^status 200\\n.*"commit":"${SHA1}"`, "s");
    let answer = "";
    await eventually("the web Service to answer with the PR's commit", 10_000, async () =>
      served.test((answer = await viaService())),
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; last answer: ${answer}`);
    });
    const mine = podInterfaces(node).filter((i) => !interfacesBefore.has(i));
    const myNetns = podNetworkNamespaces(node).filter((n) => !netnsBefore.has(n));
    expect(mine).toHaveLength(3);
    expect(myNetns).toHaveLength(3);
    const apps = admin.makeApiClient(AppsV1Api);
    const replicaSets = async () =>
      (await apps.listNamespacedReplicaSet({ namespace: s.ns, labelSelector: "app=web" })).items;
    expect(await replicaSets()).toHaveLength(1);

    // push: a new commit (new pod template) and worker.yaml removed
    await s.rig.deliver(
      "pull_request",
      push(s, SHA2, { "deploy/preview/web.yaml": app({ image: node.images.web!, replicas: 2 }) }),
    );
    await s.rig.settle();
    const sets = await replicaSets();
    expect(sets).toHaveLength(2);
    const commitOf = (rs: (typeof sets)[number]) =>
      rs.spec?.template?.spec?.containers[0]?.env?.find((e) => e.name === "COMMIT")?.value;
    const fresh = sets.find((rs) => commitOf(rs) === SHA2)!;
    const old = sets.find((rs) => commitOf(rs) === SHA1)!;
    expect(fresh.status?.readyReplicas).toBe(2);
    expect(old.spec?.replicas).toBe(0);
    expect(ours(s)).toContain("✅ Preview environment: ready");
    expect(ours(s)).toContain("`2222222`");
    // Pruned: the worker Deployment is deleted and its pod goes away.
    expect(
      (await apps.listNamespacedDeployment({ namespace: s.ns })).items.map((d) => d.metadata!.name),
    ).toEqual(["web"]);
    await eventually(
      "the pruned worker's pod to go",
      30_000,
      async () => (await podsOf(admin, s.ns, "worker")).length === 0,
    );
    const [pod] = (await podsOf(admin, s.ns, "web")).filter(isReady);
    await eventually("the Service to answer with the new commit only", 30_000, async () => {
      const answers = await Promise.all(
        [1, 2, 3].map(() => fetchFrom(admin, s.ns, pod!.metadata!.name!, "http://web:8080/")),
      );
      return answers.every((a) => a.includes(`"commit":"${SHA2}"`));
    });

    // close: the namespace goes, and with it every pod, container, interface and netns on the node
    (s.pr.pr as { state: string }).state = "closed";
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("closed", { owner: s.owner, repo: s.repo, number: 7, sha: SHA2, state: "closed" }),
    );
    await s.rig.settle();
    await eventually(`${s.ns} gone`, 90_000, () =>
      admin
        .makeApiClient(CoreV1Api)
        .readNamespace({ name: s.ns })
        .then(
          () => false,
          () => true,
        ),
    );
    expect(await podsOf(admin, s.ns)).toEqual([]);
    // Everything made since the PR opened (its first pods, and those of the push) is gone.
    await eventually("the PR's pod interfaces and network namespaces to go", 30_000, () =>
      Promise.resolve(
        podInterfaces(node).every((i) => interfacesBefore.has(i)) &&
          podNetworkNamespaces(node).every((n) => netnsBefore.has(n)),
      ),
    );
    // The kubelet removes the stopped containers of deleted pods at its next garbage collection
    // (once a minute).
    await eventually("containerd to hold no container of the PR", 120_000, () =>
      Promise.resolve(nodeContainers(node, s.ns).length === 0),
    );
  }, 180_000);
});

describe("failures the comment explains with the kubelet's words and the last log lines", () => {
  test.for<{
    kind: string;
    manifest: (images: Record<string, string>) => string;
    reason: RegExp;
    says: RegExp[];
    logs?: RegExp;
  }>([
    {
      kind: "a container that keeps crashing",
      manifest: (i) =>
        app({ image: i.crash!, readiness: false, env: { MESSAGE: "DATABASE_URL is not set" } }),
      // Between two restarts the kubelet reports the exit (Error), while it waits CrashLoopBackOff.
      reason: /Pod web-[a-z0-9]+-[a-z0-9]+: (CrashLoopBackOff|Error)/,
      says: [/exited with code 3 \\\(Error\\\), restarted \d+ times?/],
      logs: /fatal: DATABASE_URL is not set/,
    },
    {
      kind: "an image that is not there (no registry answers)",
      manifest: () => app({ image: "prenv.test/not-built:v1" }),
      reason: /Pod web-[a-z0-9]+-[a-z0-9]+: (ErrImagePull|ImagePullBackOff)/,
      says: [/prenv\.test\/not-built:v1/],
    },
    {
      kind: "a container that goes over its memory limit",
      // Without a probe a pod is ready as soon as it starts: it must stay up a while to count, as a
      // real app's rollout would ask, or the OOM kill can come after prenv saw it available.
      manifest: (i) => app({ image: i.hog!, readiness: false, memoryLimit: "48Mi", minReadySeconds: 30 }),
      reason: /Pod web-[a-z0-9]+-[a-z0-9]+: (CrashLoopBackOff|OOMKilled)/,
      says: [/exited with code 137 \\\(OOMKilled: it used more memory than its limit\\\)/],
      logs: /holding \d+ MiB/,
    },
    {
      kind: "a readiness probe that never passes",
      manifest: (i) => app({ image: i.unready!, env: { BACKEND: "postgres:5432" } }),
      reason: /Pod web-[a-z0-9]+-[a-z0-9]+: NotReady/,
      says: [
        /container web is running but not ready: Readiness probe failed: HTTP probe failed with statuscode: 503/,
      ],
      logs: /readiness: still waiting for the backend at postgres:5432/,
    },
    {
      kind: "a pod over the namespace's quota",
      manifest: (i) =>
        app({ image: i.web!, memoryLimit: "3Gi" }).replace(
          'resources: { limits: { memory: "3Gi" } }',
          'resources: { requests: { memory: "3Gi" }, limits: { memory: "3Gi" } }',
        ),
      reason: /`ReplicaSet\/web-[a-z0-9]+` FailedCreate/,
      says: [/exceeded quota: prenv, requested: limits\.memory=3Gi,requests\.memory=3Gi/],
    },
  ])("$kind", async ({ manifest, reason, says, logs }, { bot, admin, node }) => {
    const s = await setup(bot, admin, {
      files: { "deploy/preview/web.yaml": manifest(node.images) },
      rolloutSeconds: 10,
    });
    await open(s);
    const body = ours(s);
    expect(body).toContain("❌ Preview environment: deployment failed");
    expect(body).toMatch(reason);
    for (const words of says) expect(body).toMatch(words);
    if (logs) {
      expect(body).toContain("Last log lines:");
      expect(body).toMatch(logs);
    }
    expect(await state(admin, s.ns)).toBe("failed");
    expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "failure" });
    expect(s.deployments.latestStatus(s.deployments.deployments[0]!.id)?.state).toBe("failure");
  });
});

describe("sleep and wake on the node", () => {
  test("/env sleep stops the real pods; /env wake brings them back Ready with the same replica counts", async ({
    bot,
    admin,
    node,
  }) => {
    const s = await setup(bot, admin, {
      perms: { wes: "write" },
      files: {
        "deploy/preview/web.yaml": app({ image: node.images.web!, replicas: 2 }),
        "deploy/preview/worker.yaml": app({ name: "worker", image: node.images.web!, replicas: 1 }),
      },
      rolloutSeconds: 60,
    });
    commandRoutes(s);
    await open(s);
    const ready = async () => {
      const pods = await podsOf(admin, s.ns);
      return {
        web: pods.filter((p) => p.metadata?.labels?.app === "web" && isReady(p)).length,
        worker: pods.filter((p) => p.metadata?.labels?.app === "worker" && isReady(p)).length,
        all: pods.length,
      };
    };
    expect(await ready()).toEqual({ web: 2, worker: 1, all: 3 });

    await command(s, "wes", "/env sleep");
    expect(ours(s)).toContain("asleep since");
    await eventually(
      "every pod of the PR to stop",
      30_000,
      async () => (await podsOf(admin, s.ns)).length === 0,
    );
    // Stopped, not only deleted from the API: no process of the PR runs on the node.
    await eventually("no process of the PR to run on the node", 30_000, () =>
      Promise.resolve(nodeTasks(node, s.ns).length === 0),
    );

    await command(s, "wes", "/env wake");
    expect(await ready()).toEqual({ web: 2, worker: 1, all: 3 });
    expect(ours(s)).toContain("✅ Preview environment: ready");
    expect(ours(s)).not.toContain("asleep");
  }, 120_000);
});
