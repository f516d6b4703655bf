// Everything that can stop a deploy, in the order it is checked. A gate either lets the pull request
// through (null) or has already said on the PR why not, and returns the outcome.
//
// 1. the config is valid and within the operator's ceilings (configGate, before the others);
// 2. the repo's filters (drafts, base branches, labels, paths) take the PR;
// 3. the namespace is not still being deleted;
// 4. the environment has not outlived itself (expired, or built as another isolation);
// 5. `/env destroy` was not the last word for this commit;
// 6. approval: forks and authors without write access need `/env deploy <sha>`;
// 7. the checks named in `deploy.waitForChecks` passed;
// 8. admission: a new environment fits under the caps, or waits in the queue.
import { formatProblems } from "../config/parse.js";
import { CONFIG_FILE } from "../config/schema.js";
import { PrenvError } from "../errors.js";
import { admission } from "./admission.js";
import { trustGate } from "./approval.js";
import { ceilingProblems } from "./ceilings.js";
import { blankReport, say, type Ctx, type OpenCtx, type Outcome } from "./context.js";
import { eligibility } from "./filters.js";
import { outlived } from "./lifetime.js";
import type { CheckState, ConfigLookup, EnvironmentRecord, PullRequest } from "./ports.js";
import { isQueued, readRecord } from "./record.js";
import { teardown } from "./teardown.js";

/** An invalid config, or one asking for more than the operator allows: reported, nothing changed. */
export async function configGate(
  ctx: Ctx,
  pr: PullRequest,
  config: Exclude<ConfigLookup, { kind: "missing" }>,
  env: EnvironmentRecord | null,
): Promise<Outcome | null> {
  const problems =
    config.kind === "invalid" ? config.problems : ceilingProblems(config.config, ctx.deps.settings);
  if (problems.length === 0) return null;
  await say(ctx, {
    ...blankReport(pr.headSha),
    kind: "invalid-config",
    detail: env ? "The existing environment was left as it was." : "Nothing was created.",
    detailMarkdown: formatProblems(CONFIG_FILE, problems),
  });
  return "invalid-config";
}

/** Gates 2 to 8; null when the PR should be deployed. */
export async function gates(ctx: OpenCtx, env: EnvironmentRecord | null): Promise<Outcome | null> {
  const { deps, pr, config } = ctx;
  const allowed = await eligibility(pr, config, () => deps.github.listChangedFiles());
  if (!allowed.ok) {
    if (env) return teardown(ctx, env, allowed.reason);
    await say(ctx, { ...blankReport(null), kind: "skipped", detail: allowed.reason });
    return "skipped";
  }
  if (env?.phase === "Terminating") {
    throw new PrenvError("CLUSTER_ERROR", `namespace ${ctx.namespace} is still being deleted; will retry`);
  }
  const outdated = env ? outlived(readRecord(env), config, deps.clock.now()) : null;
  if (env && outdated) return teardown(ctx, env, outdated);
  if (!ctx.opts.force && ctx.meta.destroyedSha === pr.headSha) {
    // Plain text (the comment escapes it): no Markdown, or its backticks would show.
    const detail = "Destroyed with /env destroy; a new push or /env redeploy brings it back.";
    if (env) return teardown(ctx, env, detail, "destroyed");
    await say(ctx, { ...blankReport(pr.headSha), kind: "destroyed", detail });
    return "destroyed";
  }
  const waiting = (await trustGate(ctx, env)) ?? (await requiredChecks(ctx));
  if (waiting) return waiting;
  return !env || isQueued(env) ? admission(ctx, env) : null;
}

export type ChecksVerdict =
  { kind: "passed" } | { kind: "failed"; failed: string[] } | { kind: "waiting"; pending: string[] };

/** Pure: `deploy.waitForChecks` against the check runs' states on the head commit (a failure wins). */
export function checksVerdict(
  names: readonly string[],
  states: ReadonlyMap<string, CheckState>,
): ChecksVerdict {
  const failed = names.filter((n) => states.get(n) === "failure");
  if (failed.length > 0) return { kind: "failed", failed };
  const pending = names.filter((n) => states.get(n) !== "success");
  return pending.length > 0 ? { kind: "waiting", pending } : { kind: "passed" };
}

/** `deploy.waitForChecks`: every named check run must have succeeded on the head commit. */
async function requiredChecks(ctx: OpenCtx): Promise<Outcome | null> {
  const { pr } = ctx;
  const names = ctx.config.deploy.waitForChecks;
  if (names.length === 0) return null;
  const verdict = checksVerdict(names, await ctx.deps.github.checkStates(pr.headSha, names));
  if (verdict.kind === "failed") {
    await say(ctx, {
      ...blankReport(pr.headSha),
      kind: "checks-failed",
      detail: `Failed: ${verdict.failed.join(", ")}. Push a fix to try again.`,
    });
    return "checks-failed";
  }
  if (verdict.kind === "waiting") {
    await say(ctx, {
      ...blankReport(pr.headSha),
      kind: "waiting-checks",
      detail: `Waiting for: ${verdict.pending.join(", ")}.`,
    });
    return "waiting-checks";
  }
  return null;
}
