// Lifetime: when an environment was created, when it expires (ttl, capped by the repository's
// maxTtl and the operator's PRENV_MAX_TTL, counted from creation), how `/env extend` and
// `ttlRenewOnPush` move the expiry, when the author is warned, and when an environment has
// outlived itself (expired, or built as another isolation than the config now asks for).
import { parseDuration } from "../config/duration.js";
import type { RepoConfig } from "../config/schema.js";
import { isoSeconds } from "../report/time.js";
import type { OpenCtx } from "./context.js";
import type { ClusterPort, EnvironmentRecord } from "./ports.js";
import { afterWrite, expiryWrite, readRecord, warnedWrite, type EnvironmentView } from "./record.js";

/** The two dates that bound an environment's life. */
export interface Life {
  createdAt: Date;
  expiresAt: Date;
}

/** The repository's and the operator's caps, from creation (ms). */
function cap(config: RepoConfig, maxTtlMs: number): number {
  return Math.min(parseDuration(config.maxTtl), maxTtlMs);
}

/**
 * An environment's life as recorded, or a new one's: created now, expiring after ttl (capped).
 * The expiry is kept once set (`/env extend` moves it).
 */
export function lifeOf(view: EnvironmentView | null, config: RepoConfig, now: Date, maxTtlMs: number): Life {
  const createdAt = view?.createdAt ?? now;
  const ttl = Math.min(parseDuration(config.ttl), cap(config, maxTtlMs));
  return { createdAt, expiresAt: view?.expiresAt ?? new Date(createdAt.getTime() + ttl) };
}

/** `ttlRenewOnPush`: now + ttl, still capped by maxTtl and the operator's maximum from creation. */
export function renewed(life: Life, config: RepoConfig, now: Date, maxTtlMs: number): Date {
  const limit = life.createdAt.getTime() + cap(config, maxTtlMs);
  return new Date(Math.min(now.getTime() + parseDuration(config.ttl), limit));
}

/**
 * When the author is warned: `warnBeforeExpiry` before expiry (written with the guards for the
 * janitor), but only when that is after the environment's creation. With a `ttl` no longer than
 * `warnBeforeExpiry` a new environment is not warned at once (its expiry is in its comment from the
 * start): warn-at is then the expiry itself, which warns of nothing. An `/env extend` that moves
 * the expiry far enough makes a warning due again.
 */
export function warnAt(life: Life, config: Pick<RepoConfig, "warnBeforeExpiry">): Date {
  const at = life.expiresAt.getTime() - parseDuration(config.warnBeforeExpiry);
  return at > life.createdAt.getTime() ? new Date(at) : life.expiresAt;
}

export function expired(view: EnvironmentView, now: Date): boolean {
  return view.expiresAt !== null && view.expiresAt.getTime() <= now.getTime();
}

/** Why an existing environment must go before anything else happens: expired, or built as another kind. */
export function outlived(view: EnvironmentView, config: RepoConfig, now: Date): string | null {
  if (expired(view, now)) {
    return "The environment reached the end of its lifetime (ttl); the next push deploys a new one.";
  }
  if (view.builtAs && view.builtAs !== config.isolation) {
    return `The isolation changed from ${view.builtAs} to ${config.isolation}, so the environment is rebuilt: a push or /env redeploy deploys it again once the old one is gone.`;
  }
  return null;
}

export interface Extension {
  expiresAt: Date;
  /** What held the expiry back, or null when it moved as far as asked. */
  cappedBy: "repository" | "operator" | null;
}

/**
 * `/env extend [duration]`: the expiry moves to max(now, expiry) + duration (the repo's ttl by
 * default), capped at creation + the smaller of the repo's maxTtl and the operator's maximum.
 */
export function extension(
  view: EnvironmentView,
  config: RepoConfig,
  ask: { durationMs: number | null; now: Date },
  maxTtlMs: number,
): Extension {
  const now = ask.now.getTime();
  const created = view.createdAt?.getTime() || now;
  const current = view.expiresAt?.getTime() || now;
  const repoCap = parseDuration(config.maxTtl);
  const wanted = Math.max(now, current) + (ask.durationMs ?? parseDuration(config.ttl));
  const next = Math.min(wanted, created + Math.min(repoCap, maxTtlMs));
  if (next >= wanted) return { expiresAt: new Date(next), cappedBy: null };
  return { expiresAt: new Date(next), cappedBy: repoCap <= maxTtlMs ? "repository" : "operator" };
}

/** Applies an extension to the environment; returns the record as it now is. */
export async function extend(
  cluster: Pick<ClusterPort, "annotate">,
  env: EnvironmentRecord,
  to: Extension,
): Promise<EnvironmentRecord> {
  const write = expiryWrite(to.expiresAt);
  await cluster.annotate(env.name, write);
  return afterWrite(env, write);
}

/** Pure: whether to warn now: past warn-at (see warnAt), and no warning yet for this expiry. */
export function warningDue(
  life: Life,
  warnedFor: string | null,
  config: Pick<RepoConfig, "warnBeforeExpiry">,
  now: Date,
): boolean {
  const at = warnAt(life, config).getTime();
  return at < life.expiresAt.getTime() && now.getTime() >= at && warnedFor !== life.expiresAt.toISOString();
}

/** Once per expiry: a comment mentioning the author when the warning is due (see warnAt). */
export async function warnIfExpiring(ctx: OpenCtx, env: EnvironmentRecord | null, life: Life): Promise<void> {
  const { deps, pr, config } = ctx;
  const { expiresAt } = life;
  const warnedFor = env ? readRecord(env).warnedFor : null;
  if (!warningDue(life, warnedFor, config, deps.clock.now())) return;
  await deps.github.createComment(
    `@${pr.author} the preview environment of this pull request expires at ${isoSeconds(expiresAt)}. ` +
      "Comment `/env extend` to keep it longer; after expiry, a new push brings it back.",
  );
  await deps.cluster.annotate(ctx.namespace, warnedWrite(expiresAt));
}
