// `/env` commands in PR comments. The comment is read fresh from GitHub (never trusted from the
// queue), its author's role is checked with the collaborator permission API (not the comment's
// author_association), and each command changes what reconcile should converge to; reconcile
// does the rest.
import { parseDuration } from "../config/duration.js";
import { locateForJob } from "../environment/locate.js";
import type { EnvironmentRecord, PrRef, RepoRole } from "../environment/ports.js";
import { reconcile, type ReconcileDeps, type ReconcileOptions } from "../environment/reconcile.js";
import {
  ACTIVITY_MANAGER,
  IDENTITY,
  LAST_ACTIVITY,
  LIFETIME_MANAGER,
  SLEEP,
  SLEEP_MANAGER,
} from "../environment/state.js";
import {
  APPROVAL_SHA_CHARS,
  approvalCommand,
  COMMENT_MARKER,
  readMeta,
  type CommentMeta,
} from "../report/comment.js";
import { escapeMarkdown } from "../templates/engine.js";
import { COMMAND_HELP, parseCommands, type Command } from "./parse.js";

export const COMMAND_ROLES: ReadonlySet<RepoRole> = new Set(["admin", "maintain", "write"]);
/** Per PR: at most this many command comments in RATE_WINDOW_MS. */
export const RATE_LIMIT = 10;
export const RATE_WINDOW_MS = 10 * 60_000;

/** Hidden first line of prenv's refusal replies (to find the last one). */
export const REFUSAL_MARKER = "<!-- prenv:refusal -->";

/** Control, format and direction characters shown as `?`: an echo must show what is there. */
function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, "?");
}

export type CommandOutcome = "ignored" | "refused" | "malformed" | "rate-limited" | "done";

interface Run {
  ref: PrRef;
  deps: ReconcileDeps;
  namespace: string;
  replies: string[];
  /** Reconcile afterwards with these options (the last command that asks wins). */
  reconcile: ReconcileOptions | null;
  /** This PR's environment (only one that records this repository and PR), or null. */
  env: EnvironmentRecord | null;
  /** The PR's head commit when the job started, or null when the PR is gone. */
  headSha: string | null;
  /** prenv's hidden state as this job found it. */
  meta: CommentMeta;
}

export async function handleCommentCommands(
  ref: PrRef,
  commentId: number,
  deps: ReconcileDeps,
): Promise<CommandOutcome> {
  const { github } = deps;
  const comment = await github.getComment(commentId);
  // Bots (prenv itself included) never command prenv.
  if (!comment || comment.authorType === "Bot" || comment.author.endsWith("[bot]")) return "ignored";
  const parsed = parseCommands(comment.body);
  if (parsed.kind === "none") return "ignored";
  const role = await github.permissionOf(comment.author);
  const now = deps.clock.now().getTime();
  if (!COMMAND_ROLES.has(role)) return refuse(github, commentId, comment.author, now);
  if (parsed.kind === "malformed") {
    await github.addReaction(commentId, "confused");
    await github.createComment(
      `I could not read \`${visible(parsed.line).replace(/`/g, "'")}\`: ${escapeMarkdown(visible(parsed.reason))}\n\n${COMMAND_HELP}`,
    );
    return "malformed";
  }
  const meta = readMeta((await github.findComment(COMMENT_MARKER))?.body);
  const recent = (meta.commandTimes ?? []).filter((t) => now - t < RATE_WINDOW_MS);
  if (recent.length >= RATE_LIMIT) {
    await github.addReaction(commentId, "-1");
    await github.createComment(
      `Too many \`/env\` commands on this pull request: at most ${RATE_LIMIT} per ${RATE_WINDOW_MS / 60_000} minutes. Try again in a few minutes.`,
    );
    return "rate-limited";
  }
  await github.addReaction(commentId, "eyes");
  const run = await startRun(ref, deps, meta);
  for (const command of parsed.commands) await execute(run, command);
  const commandTimes = [...recent, now];
  await reconcile(ref, deps, { ...run.reconcile, meta: { ...run.reconcile?.meta, commandTimes } });
  if (run.replies.length > 0) await github.createComment(run.replies.join("\n\n"));
  return "done";
}

/** Finds the PR's environment (if it is really this PR's) and records the activity on it. */
async function startRun(ref: PrRef, deps: ReconcileDeps, meta: CommentMeta): Promise<Run> {
  const pr = await deps.github.getPull();
  const located = await locateForJob(deps.cluster, ref, pr, deps.settings.namespacePrefix, deps.log);
  if (located.env?.phase === "Active") {
    await deps.cluster.annotate(located.namespace, ACTIVITY_MANAGER, {
      [LAST_ACTIVITY]: deps.clock.now().toISOString(),
    });
  }
  return {
    ref,
    deps,
    namespace: located.namespace,
    replies: [],
    reconcile: null,
    env: located.env,
    headSha: pr?.headSha ?? null,
    meta,
  };
}

/** A 👎, and one written refusal per PR per window (after that the reaction says it). */
async function refuse(
  github: ReconcileDeps["github"],
  commentId: number,
  author: string,
  now: number,
): Promise<"refused"> {
  await github.addReaction(commentId, "-1");
  const last = await github.latestComment(REFUSAL_MARKER);
  if (!last || now - Date.parse(last.createdAt) >= RATE_WINDOW_MS) {
    await github.createComment(
      `${REFUSAL_MARKER}\nSorry, ${escapeMarkdown(visible(author))}: \`/env\` commands need write, maintain or admin permission on this repository.`,
    );
  }
  return "refused";
}

async function execute(run: Run, command: Command): Promise<void> {
  switch (command.kind) {
    case "help":
      run.replies.push(COMMAND_HELP);
      return;
    case "status":
      run.reconcile ??= {};
      return;
    case "redeploy":
      run.reconcile = { force: true, meta: { ...run.reconcile?.meta, destroyedSha: null } };
      return;
    case "destroy":
      return destroy(run);
    case "deploy":
      return approve(run, command.sha, run.meta);
    case "extend":
      return extend(run, command.durationMs);
    case "sleep":
    case "wake":
      return sleepOrWake(run, command.kind);
  }
}

function destroy(run: Run): void {
  const sha = run.headSha;
  if (sha) run.reconcile = { meta: { ...run.reconcile?.meta, destroyedSha: sha } };
}

/**
 * `/env deploy <sha>`: approves exactly the named commit, and only when it is both the PR's head now
 * and the commit prenv last asked approval for (so a push between the comment and this job, or a
 * commit crafted to share a short prefix, is never what gets approved). A bare `/env deploy`
 * approves nothing: the reply names the exact command for the current head.
 */
function approve(run: Run, named: string | null, meta: CommentMeta): void {
  const head = run.headSha;
  if (!head) return;
  const exact = `\`${approvalCommand(head)}\``;
  if (named === null) {
    run.replies.push(
      `\`/env deploy\` must name the commit it approves. The head of this pull request is ${head.slice(0, 7)}; after reviewing it, comment ${exact}.`,
    );
    return;
  }
  if (!head.startsWith(named)) {
    run.replies.push(
      `Not approved: ${named.slice(0, 12)} is not the head of this pull request; the head is now ${head.slice(0, APPROVAL_SHA_CHARS)}. After reviewing it, comment ${exact}.`,
    );
    return;
  }
  if (meta.awaitingSha !== head) {
    run.replies.push(
      `Not approved yet: the head is now ${head.slice(0, APPROVAL_SHA_CHARS)}, which prenv has not shown for approval (it changed after prenv's comment, or prenv has not seen it yet). Review it in prenv's comment, then comment ${exact}.`,
    );
    return;
  }
  run.reconcile = {
    ...run.reconcile,
    meta: { ...run.reconcile?.meta, approvedSha: head, destroyedSha: null },
  };
  run.replies.push(`Approved commit ${head.slice(0, 7)} for deployment. A later push needs a new approval.`);
}

function environment(run: Run, verb: string): EnvironmentRecord | null {
  const env = run.env;
  if (!env || env.phase === "Terminating") {
    run.replies.push(`There is no environment to ${verb}. A push or \`/env redeploy\` creates one.`);
    return null;
  }
  return env;
}

/**
 * `/env extend [duration]`: the expiry moves to max(now, expiry) + duration (the repo's ttl by
 * default), capped at creation + the smaller of the repo's maxTtl and the operator's maximum.
 */
async function extend(run: Run, durationMs: number | null): Promise<void> {
  const { deps } = run;
  const env = environment(run, "extend");
  if (!env) return;
  const config = await deps.github.getConfig();
  if (config.kind !== "ok") {
    run.replies.push(
      "The repository's .github/prenv.yml is missing or invalid, so the lifetime cannot be changed.",
    );
    return;
  }
  const now = deps.clock.now().getTime();
  const created = Date.parse(env.annotations[IDENTITY.createdAt] ?? "") || now;
  const current = Date.parse(env.annotations[IDENTITY.expiresAt] ?? "") || now;
  const step = durationMs ?? parseDuration(config.config.ttl);
  const repoCap = parseDuration(config.config.maxTtl);
  const cap = created + Math.min(repoCap, deps.settings.maxTtlMs);
  const wanted = Math.max(now, current) + step;
  const next = Math.min(wanted, cap);
  await deps.cluster.annotate(run.namespace, LIFETIME_MANAGER, {
    [IDENTITY.expiresAt]: new Date(next).toISOString(),
  });
  const when = new Date(next).toISOString().replace(/\.\d{3}Z$/, "Z");
  if (next < wanted) {
    const which =
      repoCap <= deps.settings.maxTtlMs
        ? `the repository's maxTtl (${config.config.maxTtl})`
        : "the operator's maximum lifetime";
    run.replies.push(`Expiry moved to ${when}: capped by ${which}, counted from the environment's creation.`);
  } else {
    run.replies.push(`Expiry moved to ${when}.`);
  }
  run.reconcile ??= {};
}

async function sleepOrWake(run: Run, to: "sleep" | "wake"): Promise<void> {
  const env = environment(run, to === "sleep" ? "put to sleep" : "wake");
  if (!env) return;
  const { cluster, clock } = run.deps;
  const result = await cluster.scaleWorkloads(run.namespace, to);
  const annotations =
    to === "sleep"
      ? { [SLEEP.sleeping]: "true", [SLEEP.since]: clock.now().toISOString(), [SLEEP.reason]: "command" }
      : { [SLEEP.sleeping]: "false", [SLEEP.since]: "", [SLEEP.reason]: "" };
  await cluster.annotate(run.namespace, SLEEP_MANAGER, annotations);
  const what =
    result.changed.map((c) => `${c.kind}/${c.name} ${c.from}→${c.to}`).join(", ") || "nothing to scale";
  run.replies.push(to === "sleep" ? `Asleep: ${what}.` : `Awake: ${what}.`);
  run.reconcile ??= {};
  // A virtual cluster wakes empty (its store is ephemeral): deploy the PR into it again.
  if (to === "wake" && env.annotations[IDENTITY.isolation] === "vcluster") {
    run.reconcile = { ...run.reconcile, force: true };
  }
}
