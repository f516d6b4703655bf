// The test node itself: what every node scenario (and a virtual cluster running as a pod) relies
// on. A pod of a `restricted` namespace reaches the API server through the `kubernetes` Service
// as an in-cluster client does (service-account token, cluster CA), the node reports the pinned
// versions, and the host keeps none of the node's network state outside its link.
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { describe, expect } from "vitest";
import { applyObjects } from "./harness/apply.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually, waitForDefaultServiceAccount } from "./harness/k8s-helpers.js";
import { inNode } from "./harness/node.js";
import { app, execIn, isReady, podsOf } from "./harness/workloads.js";
import { parseAllDocuments } from "yaml";

describe("the test node", () => {
  test("runs the pinned versions, and is the only node", async ({ admin, node }) => {
    const nodes = (await admin.makeApiClient(CoreV1Api).listNode()).items;
    expect(nodes.map((n) => n.metadata?.name)).toEqual([node.name]);
    const info = nodes[0]!.status!.nodeInfo!;
    expect(info.kubeletVersion).toBe(node.versions.kubernetes);
    expect(info.containerRuntimeVersion).toBe(`containerd://${node.versions.containerd!.replace(/^v/, "")}`);
    expect(nodes[0]!.status?.addresses).toContainEqual({ type: "InternalIP", address: node.nodeIP });
  });

  test("lets a restricted pod reach the API server through the kubernetes Service, as its service account", async ({
    admin,
    freshName,
    node,
  }) => {
    const ns = freshName("in-cluster");
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({
      body: { metadata: { name: ns, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
    });
    await waitForDefaultServiceAccount(admin, ns);
    const manifest = app({ image: node.images.web!, noService: true }).replace(/\{\{(sha|pr)\}\}/g, "x");
    await applyObjects(
      admin,
      parseAllDocuments(manifest).map((d) => {
        const o = d.toJS() as { metadata: object };
        return { ...o, metadata: { ...o.metadata, namespace: ns } };
      }),
    );
    await eventually("the pod to be Ready", 60_000, async () =>
      (await podsOf(admin, ns, "web")).some(isReady),
    );
    const [pod] = (await podsOf(admin, ns, "web")).filter(isReady);
    const name = pod!.metadata!.name!;
    expect(pod!.spec?.nodeName).toBe(node.name);

    const version = await execIn(admin, ns, name, ["/testapp", "kube", "/version"]);
    expect(version.stdout).toMatch(
      new RegExp(`^status 200\\n.*"gitVersion": ?"${node.versions.kubernetes}"`, "s"),
    );
    // Authenticated as the pod's service account, which may not list pods.
    const pods = await execIn(admin, ns, name, ["/testapp", "kube", `/api/v1/namespaces/${ns}/pods`]);
    expect(pods.stdout).toMatch(/^status 403\n/);
    expect(pods.stdout).toContain(`system:serviceaccount:${ns}:default`);
    const d = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "web", namespace: ns });
    expect(d.status?.readyReplicas).toBe(1);
  });

  test("keeps its bridge, pod interfaces and packet filter in its own network namespace", ({ node }) => {
    const hostLinks = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
    const nodeLinks = inNode(node, ["ip", "-o", "link", "show"]);
    const bridge = /^\d+: (br-[0-9a-f]{6}):/m.exec(nodeLinks)?.[1];
    expect(bridge).toBeTruthy();
    expect(hostLinks).not.toContain(`${bridge}:`);
    // The node's own rules: kube-proxy's nftables table and kube-router's chains.
    expect(inNode(node, ["nft", "list", "tables"])).toContain("table ip kube-proxy");
    expect(inNode(node, ["iptables-save", "-t", "filter"])).toContain(":KUBE-ROUTER-FORWARD");
  });
});
