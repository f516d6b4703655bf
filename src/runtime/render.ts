// Wires the render use case's ports for one job: the PR's repository through its installation's
// Octokit, the pinned tools from the operator's settings, and the host's version as its API server
// reports it (asked once per process, shared with the Pod Security pin: host-settings.ts).
import type { KubeConfig } from "@kubernetes/client-node";
import { GitHubTree } from "../adapters/github/tree.js";
import type { Octokit } from "../adapters/github/pull-request.js";
import { ChildToolRunner } from "../adapters/tools/runner.js";
import type { PrRef } from "../environment/ports.js";
import type { RenderDeps } from "../sources/ports.js";
import { hostMinorVersion } from "./host-settings.js";
import type { RenderSettings } from "./settings.js";

/** The render ports, or undefined when this installation has no render tools (PRENV_RENDER_TOOLS). */
export function renderDeps(
  settings: RenderSettings,
  kubeConfig: KubeConfig,
  octokit: Octokit,
  ref: Pick<PrRef, "owner" | "repo">,
): RenderDeps | undefined {
  if (!settings.toolsDir) return undefined;
  return {
    repository: new GitHubTree(octokit, { owner: ref.owner, repo: ref.repo }),
    tools: new ChildToolRunner({ ...settings, toolsDir: settings.toolsDir }),
    kubeVersion: () => hostMinorVersion(kubeConfig),
  };
}
