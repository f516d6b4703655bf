// Wires the render use case's ports for one job: the PR's repository through its installation's
// Octokit, the pinned tools from the operator's settings, the host's version from its API server.
import type { KubeConfig } from "@kubernetes/client-node";
import { GitHubTree } from "../adapters/github/tree.js";
import type { Octokit } from "../adapters/github/pull-request.js";
import { serverVersion } from "../adapters/kubernetes/version.js";
import { ChildToolRunner } from "../adapters/tools/runner.js";
import type { PrRef } from "../environment/ports.js";
import type { RenderDeps } from "../sources/ports.js";
import type { RenderSettings } from "./settings.js";

const versions = new WeakMap<KubeConfig, () => Promise<string>>();

/** The render ports, or undefined when this installation has no render tools (PRENV_RENDER_TOOLS). */
export function renderDeps(
  settings: RenderSettings,
  kubeConfig: KubeConfig,
  octokit: Octokit,
  ref: PrRef,
): RenderDeps | undefined {
  if (!settings.toolsDir) return undefined;
  let kubeVersion = versions.get(kubeConfig);
  if (!kubeVersion) {
    kubeVersion = serverVersion(kubeConfig);
    versions.set(kubeConfig, kubeVersion);
  }
  return {
    repository: new GitHubTree(octokit, { owner: ref.owner, repo: ref.repo }),
    tools: new ChildToolRunner({ ...settings, toolsDir: settings.toolsDir }),
    kubeVersion,
  };
}
