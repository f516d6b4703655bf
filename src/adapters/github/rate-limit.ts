// GitHub's rate limits, as GitHub asks clients to handle them: a 403 or 429 that carries
// `Retry-After` is retried once that many seconds have passed; one that says the primary quota is
// spent (`x-ratelimit-remaining: 0`) after `x-ratelimit-reset`; a secondary limit without either
// after a minute. A wait longer than `maxWaitMs`, or more than `retries` of them, ends the request
// with GitHub's error: the job fails and its queue runs it again later, instead of a worker
// sleeping through its timeout.
//
// This replaces Probot's throttling plugin, whose retry of a 429 ignored Retry-After (its retry
// plugin waited 1 s), which did not retry a secondary limit's 403 at all, and which spaced every
// write 1 s from the last one in the same process. prenv's jobs write a handful of times each, one
// request after another (never concurrently, as GitHub's guidance asks), and many workers run in
// separate processes where a per-process spacing coordinates nothing; what keeps them within the
// secondary limits is stopping when GitHub says so, for as long as it says.
import type { Octokit as Core } from "@octokit/core";
import type { OctokitOptions } from "@octokit/core/types";

export interface RateLimitOptions {
  /** Longest wait prenv sits through (default 60 s); a longer one fails the request. */
  maxWaitMs?: number;
  /** Most rate-limit retries per request (default 2). */
  retries?: number;
  /** Waits `ms` (injectable for tests). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** GitHub's answer to wait a while without a Retry-After: "at least one minute". */
const SECONDARY_DEFAULT_MS = 60_000;

interface ErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
}

/** How long GitHub asks to wait before trying `err`'s request again, or null when it is no rate limit. */
export function rateLimitWait(err: unknown, now: number): number | null {
  const e = (typeof err === "object" && err !== null ? err : {}) as ErrorLike;
  if (e.status !== 403 && e.status !== 429) return null;
  const headers = e.response?.headers ?? {};
  const named = retryAfter(headers["retry-after"], now);
  if (named !== null) return named;
  if (String(headers["x-ratelimit-remaining"]) === "0" && headers["x-ratelimit-reset"] !== undefined) {
    // The reset is in whole seconds: one more, so the retry comes after it.
    return Math.max(0, Number(headers["x-ratelimit-reset"]) * 1000 - now + 1000);
  }
  if (e.status === 429 || /secondary rate limit/i.test(e.message ?? "")) return SECONDARY_DEFAULT_MS;
  return null;
}

/** `Retry-After` in milliseconds from `now`: seconds or an HTTP date; null when absent or unreadable. */
function retryAfter(value: string | number | undefined, now: number): number | null {
  if (value === undefined || value === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(String(value));
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** The Octokit plugin (`Octokit.plugin(rateLimits)`); options under `rateLimit`. */
export function rateLimits(octokit: Core, options: OctokitOptions & { rateLimit?: RateLimitOptions }): void {
  const o = options.rateLimit ?? {};
  const maxWaitMs = o.maxWaitMs ?? 60_000;
  const retries = o.retries ?? 2;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  octokit.hook.wrap("request", async (request, req) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request(req);
      } catch (err) {
        const wait = rateLimitWait(err, now());
        if (wait === null || attempt >= retries || wait > maxWaitMs) throw err;
        octokit.log.warn(
          `GitHub rate limit on ${req.method} ${req.url}: retrying in ${Math.ceil(wait / 1000)} s`,
        );
        await sleep(wait);
      }
    }
  });
}
