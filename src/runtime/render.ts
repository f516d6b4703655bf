// Wires the render use case's ports for one job: the PR's repository (the job's one reader of its
// trees and blobs), the pinned tools from the operator's settings, and the host's version as its API server
// reports it (asked once per process, shared with the Pod Security pin: host-settings.ts).
import type { KubeConfig } from "@kubernetes/client-node";
import type { GitHubTree } from "../adapters/github/tree.js";
import { ChildToolRunner } from "../adapters/tools/runner.js";
import type { RenderDeps } from "../sources/ports.js";
import { hostMinorVersion } from "./host-settings.js";
import type { RenderSettings } from "./settings.js";

/** The render ports, or undefined when this installation has no render tools (PRENV_RENDER_TOOLS). */
export function renderDeps(
  settings: RenderSettings,
  kubeConfig: KubeConfig,
  repository: GitHubTree,
): RenderDeps | undefined {
  if (!settings.toolsDir) return undefined;
  return {
    repository,
    tools: new ChildToolRunner({ ...settings, toolsDir: settings.toolsDir }),
    kubeVersion: () => hostMinorVersion(kubeConfig),
  };
}
