// Starts one control plane for the whole cluster tier, or points the tier at
// PRENV_TEST_KUBECONFIG. Test files read the kubeconfig through `inject("kubeconfig")`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { applyManifestFile } from "./apply.js";
import { repoRoot, startControlPlane, type ControlPlane } from "./controlplane.js";
import { decideClusterTier } from "./tier.js";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    clusterMode: "local" | "external";
  }
}

let plane: ControlPlane | undefined;
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
    return;
  }
  runDir = mkdtempSync(join(tmpdir(), "prenv-cluster-test-"));
  plane = await startControlPlane({ runDir, log: (l) => console.log(`[cluster] ${l}`) });
  project.provide("kubeconfig", plane.kubeconfigPath);
  project.provide("clusterMode", "local");
}

export async function teardown(): Promise<void> {
  await plane?.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}
