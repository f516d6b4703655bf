// `/env` commands in PR comments. The comment is read fresh from GitHub (never trusted from the
// queue), its author's role is checked with the collaborator permission API (not the comment's
// author_association), and each command asks a lifecycle rule (lifetime, sleep, approval) or says
// what reconcile should converge to. The pull request, the environment and the config are read
// once; reconcile then runs from that same snapshot, with whatever the commands changed.
import {
  readSnapshot,
  type JobSnapshot,
  type ReconcileDeps,
  type ReconcileOptions,
} from "../environment/context.js";
import { approveCommit } from "../environment/approval.js";
import { extend as extendLifetime, extension, type Extension } from "../environment/lifetime.js";
import { WRITE_ROLES, type EnvironmentRecord, type PrRef } from "../environment/ports.js";
import { reconcileJob } from "../environment/reconcile.js";
import { readRecord } from "../environment/record.js";
import { recordActivity, sleepOrWake } from "../environment/sleep.js";
import { COMMENT_MARKER, readMeta } from "../report/comment.js";
import { isoSeconds } from "../report/time.js";
import { escapeMarkdown } from "../templates/engine.js";
import { codeSpan, COMMAND_HELP, parseCommands, type Command } from "./parse.js";

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
  deps: ReconcileDeps;
  /** What this job read; commands that change the environment put the new record in `located.env`. */
  job: JobSnapshot;
  replies: string[];
  /** Reconcile afterwards with these options (the last command that asks wins). */
  reconcile: ReconcileOptions | null;
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
  if (!WRITE_ROLES.has(role)) return refuse(github, commentId, comment.author, now);
  if (parsed.kind === "malformed") {
    await github.addReaction(commentId, "confused");
    await github.createComment(
      // The reason is Markdown with the commenter's text in code spans (parse.ts).
      `I could not read ${codeSpan(visible(parsed.line))}: ${visible(parsed.reason)}\n\n${COMMAND_HELP}`,
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
  await reconcileJob(ref, deps, run.job, {
    ...run.reconcile,
    meta: { ...run.reconcile?.meta, commandTimes },
  });
  if (run.replies.length > 0) await github.createComment(run.replies.join("\n\n"));
  return "done";
}

/** Reads the job (the PR's environment only if it is really this PR's) and records the activity on it. */
async function startRun(ref: PrRef, deps: ReconcileDeps, meta: JobSnapshot["meta"]): Promise<Run> {
  const job = await readSnapshot(ref, deps, meta);
  const { located } = job;
  if (located.env?.phase === "Active")
    located.env = await recordActivity(deps, located.namespace, located.env);
  return { deps, job, replies: [], reconcile: null };
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
      return approve(run, command.sha);
    case "extend":
      return extend(run, command.durationMs);
    case "sleep":
    case "wake":
      return sleepWake(run, command.kind);
  }
}

function destroy(run: Run): void {
  const sha = run.job.pr?.headSha;
  if (sha) run.reconcile = { meta: { ...run.reconcile?.meta, destroyedSha: sha } };
}

function approve(run: Run, named: string | null): void {
  const decision = approveCommit(run.job.pr?.headSha ?? null, named, run.job.meta);
  if (decision.approved) {
    run.reconcile = {
      ...run.reconcile,
      meta: { ...run.reconcile?.meta, approvedSha: run.job.pr!.headSha, destroyedSha: null },
    };
  }
  if (decision.reply) run.replies.push(decision.reply);
}

function environment(run: Run, verb: string): EnvironmentRecord | null {
  const env = run.job.located.env;
  if (!env || env.phase === "Terminating") {
    run.replies.push(`There is no environment to ${verb}. A push or \`/env redeploy\` creates one.`);
    return null;
  }
  return env;
}

/** `/env extend [duration]`: the lifetime rule moves the expiry (see lifetime.ts). */
async function extend(run: Run, durationMs: number | null): Promise<void> {
  const { deps } = run;
  const env = environment(run, "extend");
  if (!env) return;
  const config = await run.job.config();
  if (config.kind !== "ok") {
    run.replies.push(
      "The repository's .github/prenv.yml is missing or invalid, so the lifetime cannot be changed.",
    );
    return;
  }
  const ask = { durationMs, now: deps.clock.now() };
  const view = readRecord(env);
  const to = extension(view, config.config, ask, deps.settings.maxTtlMs);
  // Capped at or before the current expiry: nothing moves (an extend never shortens a lifetime).
  const moved = view.expiresAt === null || to.expiresAt.getTime() > view.expiresAt.getTime();
  if (moved) run.job.located.env = await extendLifetime(deps.cluster, env, to);
  run.replies.push(extendReply(to, moved, config.config.maxTtl));
  run.reconcile ??= {};
}

/** What `/env extend` says: where the expiry is now, whether it moved, and what capped it. */
function extendReply(to: Extension, moved: boolean, maxTtl: string): string {
  const when = isoSeconds(to.expiresAt);
  const which =
    to.cappedBy === "repository" ? `the repository's maxTtl (${maxTtl})` : "the operator's maximum lifetime";
  const cap = `capped by ${which}, counted from the environment's creation`;
  if (!moved) return `Expiry unchanged: it is already ${when}, the latest allowed (${cap}).`;
  return to.cappedBy ? `Expiry moved to ${when}: ${cap}.` : `Expiry moved to ${when}.`;
}

async function sleepWake(run: Run, to: "sleep" | "wake"): Promise<void> {
  const env = environment(run, to === "sleep" ? "put to sleep" : "wake");
  if (!env) return;
  const scaled = await sleepOrWake(run.deps, env, to);
  run.job.located.env = scaled.env;
  const what =
    scaled.result.changed.map((c) => `${c.kind}/${c.name} ${c.from}→${c.to}`).join(", ") ||
    "nothing to scale";
  run.replies.push(to === "sleep" ? `Asleep: ${what}.` : `Awake: ${what}.`);
  run.reconcile ??= {};
  // Waking deploys the PR again: a virtual cluster wakes empty (its store is ephemeral), and in
  // either mode "ready" is said only once the rollout (and the URL) is, as after a push.
  if (to === "wake") run.reconcile = { ...run.reconcile, force: true };
}
