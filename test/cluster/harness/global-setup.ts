// Starts one control plane and one node for the whole cluster tier, or points the tier at
// PRENV_TEST_KUBECONFIG. Test files read the kubeconfig through `inject("kubeconfig")` and the
// node through `inject("node")` (null when there is none: `inject("nodeSkipReason")` says why).
// The Gateway API CRDs are installed on the control plane, and with a node the data plane runs on
// it (`inject("dataPlane")`, null when there is none: `inject("dataPlaneSkipReason")` says why).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { applyManifestFile } from "./apply.js";
import { loadKubeConfig } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { ADMIN_CONTEXT, repoRoot, startControlPlane, type ControlPlane } from "./controlplane.js";
import { ensureGatewayBuild, installGatewayCrds, startDataPlane, type DataPlaneInfo } from "./gateway.js";
import {
  createNodeNetwork,
  networkState,
  nodeMemory,
  startNode,
  stopNode,
  type NodeInfo,
  type NodeNetwork,
  type TestNode,
} from "./node.js";
import { decideClusterTier, decideNode } from "./tier.js";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    clusterMode: "local" | "external";
    node: NodeInfo | null;
    nodeSkipReason: string;
    dataPlane: DataPlaneInfo | null;
    dataPlaneSkipReason: string;
  }
}

let plane: ControlPlane | undefined;
let node: TestNode | undefined;
let net: NodeNetwork | undefined;
let runDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const tier = decideClusterTier();
  if (tier.mode === "skip") throw new Error(`cluster tier was selected but cannot run: ${tier.reason}`);
  if (tier.mode === "external") {
    // The bot's production RBAC must be on the cluster for the tier to test it.
    await applyManifestFile(tier.kubeconfig, undefined, join(repoRoot, "deploy/rbac.yaml"));
    await applyManifestFile(tier.kubeconfig, undefined, join(repoRoot, "deploy/policy.yaml"));
    project.provide("kubeconfig", tier.kubeconfig);
    project.provide("clusterMode", "external");
    project.provide("node", null);
    project.provide(
      "nodeSkipReason",
      "PRENV_TEST_KUBECONFIG is set: the node scenarios need the local test node and its images",
    );
    console.warn("[cluster] node scenarios SKIPPED: PRENV_TEST_KUBECONFIG is set");
    project.provide("dataPlane", null);
    project.provide(
      "dataPlaneSkipReason",
      "PRENV_TEST_KUBECONFIG is set: the data plane runs on the local test node",
    );
    return;
  }
  const log = (l: string) => console.log(`[cluster] ${l}`);
  runDir = mkdtempSync(join(tmpdir(), "prenv-cluster-test-"));
  const wantNode = decideNode();
  net = wantNode.run ? createNodeNetwork(runDir) : undefined;
  let dataPlane: DataPlaneInfo | null = null;
  try {
    plane = await startControlPlane({ runDir, log, nodeAddress: net?.hostIP });
    if (net) node = await startNode({ plane, net, log });
    const admin = loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT);
    const gatewayBuild = ensureGatewayBuild(log);
    await installGatewayCrds(admin, gatewayBuild);
    if (node)
      dataPlane = await startDataPlane({ admin, node: node.info, buildDir: gatewayBuild, runDir, log });
  } catch (err) {
    await teardown();
    throw err;
  }
  project.provide("kubeconfig", plane.kubeconfigPath);
  project.provide("clusterMode", "local");
  project.provide("node", node?.info ?? null);
  project.provide("nodeSkipReason", wantNode.run ? "" : wantNode.reason);
  project.provide("dataPlane", dataPlane);
  project.provide(
    "dataPlaneSkipReason",
    dataPlane ? "" : `no test node: ${wantNode.run ? "" : wantNode.reason}`,
  );
  if (!wantNode.run) console.warn(`[cluster] node scenarios SKIPPED: ${wantNode.reason}`);
}

export async function teardown(): Promise<void> {
  if (node) {
    const m = nodeMemory(node.state);
    console.log(
      `[cluster] node memory at teardown: daemons ${m.daemonsRssMiB} MiB RSS, cgroup ${m.cgroupMiB} MiB`,
    );
  }
  if (node) await node.stop();
  else if (net) await stopNode(networkState(net));
  await plane?.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}
