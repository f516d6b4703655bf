// Whether a pull request should have an environment under the repo's `filters`.
import { matchesAny } from "../config/glob.js";
import type { RepoConfig } from "../config/schema.js";
import type { PullRequest } from "./ports.js";

export type Eligibility = { ok: true } | { ok: false; reason: string };

export async function eligibility(
  pr: PullRequest,
  config: RepoConfig,
  changedFiles: () => Promise<string[]>,
): Promise<Eligibility> {
  const f = config.filters;
  if (pr.draft && !f.drafts) {
    return {
      ok: false,
      reason: "This pull request is a draft; mark it ready for review (or set filters.drafts: true).",
    };
  }
  if (f.branches.length > 0 && !matchesAny(f.branches, pr.baseRef)) {
    return {
      ok: false,
      reason: `The base branch is not one of filters.branches (${f.branches.join(", ")}).`,
    };
  }
  if (f.labels.length > 0 && !f.labels.some((l) => pr.labels.includes(l))) {
    return {
      ok: false,
      reason: `Add one of the labels ${f.labels.map((l) => `"${l}"`).join(", ")} to get a preview.`,
    };
  }
  if (f.paths.length > 0) {
    const files = await changedFiles();
    if (!files.some((file) => matchesAny(f.paths, file))) {
      return { ok: false, reason: `No changed file matches filters.paths (${f.paths.join(", ")}).` };
    }
  }
  return { ok: true };
}
