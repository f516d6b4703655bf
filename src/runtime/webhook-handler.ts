// The webhook entry as a plain function of (headers, raw body), so the Lambda handler and tests
// share it: verify the HMAC-SHA256 signature over the raw bytes, drop what prenv does not handle,
// and hand the event to prenv's handlers (src/app.ts), which only enqueue. Answers in
// milliseconds; never calls GitHub or Kubernetes, and needs no GitHub credentials: on Lambda the
// handlers run on @octokit/webhooks, not on a Probot holding the App's private key.
import { createHmac, timingSafeEqual } from "node:crypto";

/** Where verified events go: @octokit/webhooks' `Webhooks` (Lambda) or a Probot (tests, `npm start`). */
export interface EventReceiver {
  receive(event: { id: string; name: string; payload: unknown }): Promise<void>;
}

export interface WebhookRequest {
  headers: Record<string, string | undefined>;
  body: string | undefined;
  isBase64Encoded?: boolean;
}

export interface WebhookResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** GitHub caps payloads at 25 MB; prenv's events are a few KB. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;
export const HANDLED_EVENTS = new Set(["pull_request", "check_run", "check_suite", "issue_comment"]);

function reply(statusCode: number, message: string): WebhookResponse {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify({ message }) };
}

export function signatureMatches(secret: string, raw: Buffer, header: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function createWebhookHandler(opts: { events: EventReceiver; secret: string; maxBytes?: number }) {
  const maxBytes = opts.maxBytes ?? MAX_WEBHOOK_BYTES;
  return async (req: WebhookRequest): Promise<WebhookResponse> => {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const raw = Buffer.from(req.body ?? "", req.isBase64Encoded ? "base64" : "utf8");
    if (raw.length > maxBytes) return reply(413, `payload larger than ${maxBytes} bytes`);
    const signature = headers["x-hub-signature-256"];
    if (!signature) return reply(401, "missing x-hub-signature-256 header");
    if (!signatureMatches(opts.secret, raw, signature)) return reply(401, "signature does not match");
    const name = headers["x-github-event"];
    const id = headers["x-github-delivery"];
    if (!name || !id) return reply(400, "missing x-github-event or x-github-delivery header");
    if (!HANDLED_EVENTS.has(name)) return reply(202, `event ${name} ignored`);
    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString("utf8"));
    } catch {
      return reply(400, "body is not JSON");
    }
    if (typeof payload !== "object" || payload === null) return reply(400, "body is not a JSON object");
    await opts.events.receive({ id, name, payload });
    return reply(202, "accepted");
  };
}
