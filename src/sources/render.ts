// Use case: the pull request's Helm chart or Kustomize overlay, read at its head commit and
// rendered offline by a pinned tool, as manifest files for the same checks, apply, prune and
// rollout as plain manifests. The output is data: it never goes through prenv's Handlebars (a
// `{{` that a chart prints stays as it is).
import type { RepoFile as ManifestFile } from "../manifests/files.js";
import { PrenvError } from "../errors.js";
import { ManifestError } from "../manifests/errors.js";
import { renderConfigValue, resolveTemplateVars, type TemplateVars } from "../manifests/template.js";
import { CONFIG_FILE, type RepoConfig } from "../config/schema.js";
import {
  helmProblem,
  helmRun,
  pickChart,
  splitHelmOutput,
  type HelmSource,
  type PrenvValues,
} from "./helm.js";
import { kustomizeProblem, kustomizeRun, pickOverlay } from "./kustomize.js";
import type { RenderDeps, ToolName, ToolResult } from "./ports.js";
import { RepoSnapshot, SOURCE_LIMITS, SourceProblem, type SourceLimits } from "./tree.js";

export interface RenderInput {
  commit: string;
  namespace: string;
  isolation: "namespace" | "vcluster";
  vars: TemplateVars;
  limits?: SourceLimits;
}

/** Suffix of the files rendered output is split into: their lines are lines of the output. */
export const RENDERED = " (rendered)";

/**
 * Renders `deploy.helm` or `deploy.kustomize`. Throws PrenvError MANIFEST_INVALID with a message
 * for the pull request (the file and line helm or kustomize named, or the limit that stopped it).
 */
export async function renderSource(
  deploy: RepoConfig["deploy"],
  input: RenderInput,
  deps: RenderDeps | undefined,
): Promise<ManifestFile[]> {
  const tool: ToolName = deploy.helm ? "helm" : "kustomize";
  if (!deps) {
    throw invalid(
      `This prenv installation cannot render ${tool === "helm" ? "Helm charts" : "Kustomize overlays"}: its operators have not installed the render tools (PRENV_RENDER_TOOLS). Use deploy.path with plain manifests, or ask them.`,
    );
  }
  try {
    return await render(deploy, input, deps);
  } catch (err) {
    if (err instanceof SourceProblem || err instanceof ManifestError) throw invalid(err.message);
    throw err;
  }
}

async function render(
  deploy: RepoConfig["deploy"],
  input: RenderInput,
  deps: RenderDeps,
): Promise<ManifestFile[]> {
  const vars = resolveTemplateVars(input.vars);
  const prenv: PrenvValues = {
    host: vars.host,
    namespace: vars.namespace,
    pr: vars.pr,
    sha: vars.sha,
    shortSha: vars.shortSha,
    branchSlug: vars.branchSlug,
    image: vars.image ?? null,
  };
  const repo = await RepoSnapshot.at(deps.repository, input.commit, input.limits ?? SOURCE_LIMITS);
  if (deploy.helm) {
    const source: HelmSource = {
      chart: deploy.helm.chart.replace(/\/+$/, ""),
      values: deploy.helm.values,
      set: renderSet(deploy.helm.set, vars),
      releaseName: deploy.helm.releaseName ?? `pr-${vars.pr}`,
    };
    const chartName = await pickChart(repo, source);
    const run = helmRun(source, {
      files: await repo.download(),
      prenv,
      namespace: input.namespace,
      kubeVersion: await deps.kubeVersion(),
      includeCrds: input.isolation === "vcluster",
    });
    const result = await deps.tools.run(run);
    if (!result.ok)
      throw new SourceProblem(
        stopped("helm template", result, deps, (e) => helmProblem(e, chartName, source.chart)),
      );
    return splitHelmOutput(result.stdout, chartName, source.chart).map((f) => ({
      path: `${f.path}${RENDERED}`,
      content: f.content,
    }));
  }
  const overlay = deploy.kustomize!;
  const source = { path: overlay.path.replace(/\/+$/, ""), images: overlay.images };
  if (source.images.length > 0 && !vars.image) {
    throw new SourceProblem(
      `deploy.kustomize.images needs deploy.image in ${CONFIG_FILE}: it is the image those names are replaced with.`,
    );
  }
  await pickOverlay(repo, source);
  const result = await deps.tools.run(kustomizeRun(source, { files: await repo.download(), prenv }));
  if (!result.ok) throw new SourceProblem(stopped("kustomize build", result, deps, kustomizeProblem));
  return [{ path: `${source.path}/kustomization.yaml${RENDERED}`, content: result.stdout }];
}

function renderSet(set: Record<string, string | number | boolean | null>, vars: TemplateVars) {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(set)) {
    out[key] =
      typeof value === "string"
        ? renderConfigValue(`${CONFIG_FILE} (deploy.helm.set.${key})`, value, vars)
        : value;
  }
  return out;
}

/** Why the tool did not produce manifests, for the pull request. */
function stopped(
  what: string,
  result: Extract<ToolResult, { ok: false }>,
  deps: RenderDeps,
  describe: (stderr: string) => string,
): string {
  const { timeoutMs, maxOutputBytes, memoryBytes } = deps.tools.limits;
  switch (result.reason) {
    case "timeout":
      return `${what} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped. Look for a loop that never ends (a range over a huge list, a template that includes itself).`;
    case "output":
      return `${what} printed more than ${mib(maxOutputBytes)} and was stopped; a preview's manifests must stay well under that.`;
    case "memory":
      return `${what} used more than its ${mib(memoryBytes)} of memory and was stopped. Look for a template that builds huge values.`;
    case "exit":
      return describe(result.stderr);
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

function invalid(message: string): PrenvError {
  return new PrenvError("MANIFEST_INVALID", message);
}
