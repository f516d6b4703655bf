// What every lifecycle rule works with during one job: the pull request and the names derived from
// it, the dependencies, prenv's hidden comment state, and how to say something on the PR. The
// types rules share (dependencies, outcomes, options) live here, so no rule imports reconcile.ts.
import { createHash } from "node:crypto";
import type { RolloutCheck } from "../jobs/job.js";
import type { RenderDeps } from "../sources/ports.js";
import type { RepoConfig } from "../config/schema.js";
import {
  COMMENT_MARKER,
  readMeta,
  type CommentMeta,
  type CommentVars,
  type Report,
} from "../report/comment.js";
import { accessInstructions } from "../report/instructions.js";
import { keepReport, publish, type PublishDeps } from "../report/publish.js";
import type { TemplateFn } from "../templates/engine.js";
import type { GuardTemplates } from "./guards.js";
import { locateForJob, type Located } from "./locate.js";
import { previewHost, virtualApiHost } from "./naming.js";
import type {
  ClusterPort,
  Clock,
  ConfigLookup,
  EnvironmentRecord,
  GitHubPort,
  Logger,
  PrRef,
  PullRequest,
} from "./ports.js";
import type { EnvironmentSettings } from "./settings.js";

export interface ReconcileDeps {
  github: GitHubPort;
  cluster: ClusterPort;
  clock: Clock;
  log: Logger;
  settings: EnvironmentSettings;
  templates: { guards: GuardTemplates; comment: TemplateFn<CommentVars> };
  /** Rendering deploy.helm and deploy.kustomize; absent where the render tools are not installed. */
  render?: RenderDeps | undefined;
  /**
   * Schedules a follow-up look at this PR's rollout in `delayMs`, run in the PR's order like any job
   * (rollout.ts). `repoId`: whose environment it is, carried by the job.
   */
  followUp(job: { check: RolloutCheck; repoId: number }, delayMs: number): Promise<void>;
  /**
   * An earlier attempt of this job ran (the message came back, a local retry): it may have written
   * to GitHub without recording it, so the job's first report looks (publish.ts).
   */
  retry?: boolean;
}

export type Outcome =
  | "unchanged"
  | "not-configured"
  | "invalid-config"
  | "skipped"
  | "waiting-checks"
  | "checks-failed"
  | "manifest-invalid"
  | "deployed"
  | "rolling-out"
  | "failed"
  | "deleted"
  | "destroyed"
  | "awaiting-approval"
  | "slept"
  | "woke"
  | "queued"
  | "repaired"
  | "name-taken";

export interface ReconcileOptions {
  /** Redeploy even if the environment is up to date, and even after `/env destroy`. */
  force?: boolean;
  /** Changes to the comment's hidden state (a command's effect), applied before deciding. */
  meta?: Partial<Record<keyof CommentMeta, CommentMeta[keyof CommentMeta] | null>>;
}

/**
 * What one job reads, once: the pull request (fresh from GitHub), its environment (from the
 * cluster), prenv's hidden comment state, and, on first use, the repository's config. Rules that
 * change the environment put the record they wrote back into `located.env`, so that the rest of the
 * job never works from a stale record.
 */
export interface JobSnapshot {
  pr: PullRequest | null;
  located: Located;
  meta: CommentMeta;
  config(): Promise<ConfigLookup>;
}

/** Reads the job's snapshot; `meta` when the caller has already read prenv's comment. */
export async function readSnapshot(
  ref: PrRef,
  deps: ReconcileDeps,
  meta?: CommentMeta,
): Promise<JobSnapshot> {
  const pr = await deps.github.getPull();
  const where = { cluster: deps.cluster, log: deps.log, prefix: deps.settings.namespacePrefix };
  const located = await locateForJob(where, ref, pr);
  let config: Promise<ConfigLookup> | undefined;
  return {
    pr,
    located,
    meta: meta ?? readMeta((await deps.github.findComment(COMMENT_MARKER))?.body),
    config: () => (config ??= deps.github.getConfig()),
  };
}

export interface Ctx {
  ref: PrRef;
  deps: ReconcileDeps;
  namespace: string;
  /** The preview host, `<namespace>.<base domain>`. */
  host: string;
  /** Where the virtual cluster's API would be (used in vcluster mode only). */
  apiHost: string;
  /** The GitHub Deployment environment, `pr-<n>`. */
  environment: string;
  publishDeps: PublishDeps;
  /** Hidden state from prenv's comment, carried into every comment prenv writes. */
  meta: CommentMeta;
  opts: ReconcileOptions;
}

/** The context once the pull request is known open and its config valid. */
export interface OpenCtx extends Ctx {
  pr: PullRequest;
  config: RepoConfig;
}

export function newContext(
  ref: PrRef,
  deps: ReconcileDeps,
  job: Pick<JobSnapshot, "located" | "meta">,
  opts: ReconcileOptions,
): Ctx {
  const { namespace } = job.located;
  const environment = `pr-${ref.number}`;
  return {
    ref,
    deps,
    namespace,
    host: previewHost(namespace, deps.settings.baseDomain),
    apiHost: virtualApiHost(namespace, deps.settings.vcluster.apiDomain),
    environment,
    publishDeps: {
      github: deps.github,
      comment: deps.templates.comment,
      checkName: deps.settings.checkName,
      environment,
      ...(deps.retry ? { unrecorded: { look: true } } : {}),
    },
    meta: applyMeta(job.meta, opts.meta),
    opts,
  };
}

/**
 * Puts a report on the PR (comment, check run, deployment), with prenv's hidden state, and keeps
 * what the comment now remembers (the Deployment and check run it wrote) for the rest of the job.
 */
export async function say(ctx: Ctx, report: Report): Promise<void> {
  ctx.meta = await publish({ ...report, meta: ctx.meta }, ctx.publishDeps);
}

/**
 * This job continues what an earlier one began (a rollout's follow-up): that one may have made the
 * head's Deployment and check run without recording them, so a report looks first (publish.ts).
 */
export function continuing(ctx: Ctx): void {
  ctx.publishDeps.unrecorded = { look: true };
}

/** Leaves the PR's comment, check run and Deployment as they are; only the hidden state is written. */
export async function keepSaying(ctx: Ctx): Promise<void> {
  await keepReport(ctx.meta, ctx.publishDeps);
}

export function blankReport(sha: string | null): Omit<Report, "kind"> {
  return {
    sha,
    url: null,
    namespace: null,
    expiresAt: null,
    detail: null,
    detailMarkdown: null,
    problems: [],
    failure: null,
  };
}

/** What every comment about a live environment shows: where, until when, how to get in. */
export function liveReport(ctx: OpenCtx, at: { expiresAt: Date; url: string | null }): Omit<Report, "kind"> {
  const { settings } = ctx.deps;
  return {
    ...blankReport(ctx.pr.headSha),
    namespace: ctx.namespace,
    expiresAt: at.expiresAt,
    url: at.url,
    access: accessInstructions(settings.access, ctx.ref),
    virtualApi: ctx.config.isolation === "vcluster" ? `https://${ctx.apiHost}` : null,
  };
}

export function untouched(env: EnvironmentRecord | null): string {
  return env
    ? "Nothing was applied; the environment still runs the previous deployment."
    : "Nothing was created.";
}

/** What identifies a config's effect on a deploy (with the commit: whether a deploy is current). */
export function configHash(config: RepoConfig): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 16);
}

function applyMeta(meta: CommentMeta, changes: ReconcileOptions["meta"]): CommentMeta {
  const out: Record<string, unknown> = { ...meta };
  for (const [k, v] of Object.entries(changes ?? {})) {
    if (v === null || v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
