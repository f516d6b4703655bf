// Decides whether the cluster test tier runs. It runs against PRENV_TEST_KUBECONFIG when set,
// otherwise against a control plane built with Go. Without either it is skipped with one line
// saying how to enable it, except where it is required (CI, or PRENV_REQUIRE_CLUSTER=1), where a
// missing cluster tier is an error: it must never be skipped silently there.
import { spawnSync } from "node:child_process";
import { nodeUnsupported } from "./node.js";

export type ClusterTier =
  { mode: "external"; kubeconfig: string } | { mode: "local" } | { mode: "skip"; reason: string };

export const ENABLE_HINT =
  "install Go >= 1.24 (the tests build a real control plane with it) or set PRENV_TEST_KUBECONFIG to a cluster-admin kubeconfig";

export function decideClusterTier(env: NodeJS.ProcessEnv = process.env): ClusterTier {
  if (env.PRENV_TEST_KUBECONFIG) return { mode: "external", kubeconfig: env.PRENV_TEST_KUBECONFIG };
  if (env.PRENV_SKIP_CLUSTER === "1" && !isRequired(env)) {
    return { mode: "skip", reason: "PRENV_SKIP_CLUSTER=1" };
  }
  const go = spawnSync("go", ["version"], { encoding: "utf8", env });
  if (go.status === 0) return { mode: "local" };
  const reason = "neither Go nor PRENV_TEST_KUBECONFIG is available";
  if (isRequired(env)) {
    throw new Error(`cluster test tier is required here (CI) but cannot start: ${reason}; ${ENABLE_HINT}`);
  }
  return { mode: "skip", reason };
}

export function isRequired(env: NodeJS.ProcessEnv): boolean {
  return env.PRENV_REQUIRE_CLUSTER === "1" || (env.CI !== undefined && env.CI !== "" && env.CI !== "false");
}

export type AwsTier = { mode: "local" } | { mode: "skip"; reason: string };

export const AWS_ENABLE_HINT =
  "install Java >= 17 and Maven (ElasticMQ, an SQS-compatible server, is built from Maven Central)";

/** The AWS tier runs against ElasticMQ, which needs Java and Maven. Required where the cluster tier is. */
export function decideAwsTier(env: NodeJS.ProcessEnv = process.env): AwsTier {
  if (env.PRENV_SKIP_AWS === "1" && !isRequired(env)) return { mode: "skip", reason: "PRENV_SKIP_AWS=1" };
  const java = spawnSync("java", ["-version"], { encoding: "utf8", env });
  const mvn = spawnSync("mvn", ["-v"], { encoding: "utf8", env });
  if (java.status === 0 && mvn.status === 0) return { mode: "local" };
  const reason = "Java or Maven is not available";
  if (isRequired(env))
    throw new Error(`AWS test tier is required here (CI) but cannot start: ${reason}; ${AWS_ENABLE_HINT}`);
  return { mode: "skip", reason };
}

export type NodeDecision = { run: true } | { run: false; reason: string };

export const NODE_HINT =
  "the node needs Linux, root, cgroup v1 and iproute2, iptables, ipset, nftables (see README, Development)";

/**
 * Whether the local test world gets a node (kubelet, containerd, CNI, DNS, network policy). Where
 * the cluster tier is required (CI), a node that cannot run is an error, never a silent skip.
 */
export function decideNode(env: NodeJS.ProcessEnv = process.env): NodeDecision {
  if (env.PRENV_SKIP_NODE === "1" && !isRequired(env)) return { run: false, reason: "PRENV_SKIP_NODE=1" };
  const reason = nodeUnsupported();
  if (!reason) return { run: true };
  if (isRequired(env)) throw new Error(`the test node is required here (CI) but cannot start: ${reason}`);
  return { run: false, reason: `${reason}; ${NODE_HINT}` };
}
