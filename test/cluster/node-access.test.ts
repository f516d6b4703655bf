// What a kubeconfig issued by prenv's endpoint can do with real pods: `logs`, `exec` and
// `port-forward` go from the API server to the kubelet and containerd of the test node, in the
// PR's own namespace; another PR's pods answer 403.
import { CoreV1Api, PortForward } from "@kubernetes/client-node";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect } from "vitest";
import { closeEndpoints, deployed, kubeconfigOf } from "./harness/endpoint.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { expectApiError } from "./harness/k8s-helpers.js";
import { SHA1, cleanupRigs } from "./harness/pr-rig.js";
import { app, execIn, isReady, podsOf, portForward } from "./harness/workloads.js";

afterEach(async () => {
  await closeEndpoints();
  await cleanupRigs();
});

describe("an issued kubeconfig on the node", () => {
  test("reads logs, execs and port-forwards into its own PR's pods, and none of it into another PR's", async ({
    bot,
    admin,
    access,
    node,
  }) => {
    const files = { "deploy/preview/web.yaml": app({ image: node.images.web! }) };
    const mine = await deployed(bot, admin, access, { files, rolloutSeconds: 60 });
    const other = await deployed(bot, admin, access, { files, rolloutSeconds: 60 });
    const issued = await mine.endpoint.get(mine.path, mine.users.tokens.bob);
    expect(issued.status).toBe(200);
    const kc = kubeconfigOf(issued.body);
    const [pod] = (await podsOf(admin, mine.s.ns, "web")).filter(isReady).map((p) => p.metadata!.name!);
    const [theirs] = (await podsOf(admin, other.s.ns, "web")).filter(isReady).map((p) => p.metadata!.name!);
    expect(pod && theirs).toBeTruthy();

    // logs: what the container printed, read by the kubelet from the node.
    const core = kc.makeApiClient(CoreV1Api);
    expect(await core.readNamespacedPodLog({ name: pod!, namespace: mine.s.ns })).toContain(
      `listening on :8080 (commit ${SHA1})`,
    );
    // exec: a process started in the running container.
    const ran = await execIn(kc, mine.s.ns, pod!, [
      "/testapp",
      "fetch",
      "http://127.0.0.1:8080/healthz/ready",
    ]);
    expect(ran).toEqual({ stdout: "status 200\nready\n", stderr: "", code: 0 });
    const failed = await execIn(kc, mine.s.ns, pod!, ["/testapp", "lookup"]);
    expect(failed.code).toBe(2);
    // port-forward: a local port to the pod's 8080.
    const forward = await portForward(kc, mine.s.ns, pod!, 8080);
    try {
      const res = await fetch(forward.url, { headers: { connection: "close" } });
      expect(JSON.parse(await res.text())).toMatchObject({ commit: SHA1, name: "web" });
    } finally {
      await forward.close();
    }

    // Another PR's pod: every one of these is refused by the API server (403).
    await expectApiError(core.readNamespacedPodLog({ name: theirs!, namespace: other.s.ns }), 403);
    await expect(execIn(kc, other.s.ns, theirs!, ["/testapp", "lookup", "x"])).rejects.toThrow(/403/);
    const sink = new PassThrough();
    await expect(
      new PortForward(kc, true).portForward(other.s.ns, theirs!, [8080], sink, sink, new PassThrough()),
    ).rejects.toThrow(/403/);
  });
});
