// Transient Kubernetes API failures are retried where they happen, as client-go does: a 429 (API
// Priority and Fairness) or a 5xx answer, honouring its Retry-After, and a connection that was
// reset, refused or timed out. A job makes dozens of requests; without this, one lost request in
// a few hundred fails the whole job and waits for the queue's visibility timeout. What is not
// transient fails at once: every other 4xx, and the 500 with which server-side apply refuses an
// object it cannot type (that answer will never change; see typedPatchRefusal).
import { ApiException } from "@kubernetes/client-node";

export interface RetryOptions {
  /** Tries in all (default 4). */
  attempts?: number;
  /** Waits between tries (injectable for tests). */
  sleep?: (ms: number) => Promise<void>;
}

/** The longest Retry-After honoured, in seconds; the API server asks for 1 s. */
const MAX_RETRY_AFTER_S = 10;
const BASE_DELAY_MS = 250;
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EAI_AGAIN",
  // undici (client-node 2.x): a socket closed or reset under a request, or no connection in time.
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
]);

/**
 * Server-side apply answers 500 "failed to create typed patch object" when an object does not fit
 * its kind's schema (a ConfigMap value that is not a string, an unknown field under metadata):
 * the object's fault, not the server's.
 */
export function typedPatchRefusal(err: unknown): boolean {
  if (!(err instanceof ApiException) || err.code !== 500) return false;
  const body: unknown = err.body;
  const text = typeof body === "string" ? body : JSON.stringify(body ?? "");
  return (
    text.includes("failed to create typed patch object") ||
    text.includes("failed to create typed live object")
  );
}

/** The error's network code, or its cause's (undici wraps a reset socket in UND_ERR_SOCKET). */
function networkCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown }; message?: unknown } | null;
  const codes = [e?.code, e?.cause?.code].filter((c): c is string => typeof c === "string");
  const known = codes.find((c) => NETWORK_CODES.has(c));
  if (known ?? codes[0]) return known ?? codes[0];
  const message = typeof e?.message === "string" ? e.message : "";
  return /socket hang up|request timed out/i.test(message) ? "ECONNRESET" : undefined;
}

/** How long to wait before the next try, or null when `err` is not worth another. */
export function retryDelay(err: unknown, attempt: number): number | null {
  const backoff = BASE_DELAY_MS * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
  if (err instanceof ApiException) {
    const code = err.code;
    if (code !== 429 && (code < 500 || code > 599)) return null;
    if (typedPatchRefusal(err)) return null;
    const headers = (err.headers ?? {}) as Record<string, string | undefined>;
    const after = Number(headers["retry-after"] ?? headers["Retry-After"]);
    return Number.isFinite(after) && after > 0 ? Math.min(after, MAX_RETRY_AFTER_S) * 1000 : backoff;
  }
  const code = networkCode(err);
  return code && NETWORK_CODES.has(code) ? backoff : null;
}

export async function retrying<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = attempt < attempts ? retryDelay(err, attempt) : null;
      if (delay === null) throw err;
      await sleep(delay);
    }
  }
}
