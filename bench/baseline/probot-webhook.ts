// The yardstick of `npm run bench`'s cold-start figures: a bare Probot webhook function that only
// verifies a delivery's signature and receives it (one handler, no work), bundled as prenv's
// functions are. What any Probot app pays at a cold start before doing anything of its own.
import { Probot } from "probot";

let probot: Probot | undefined;

export async function handler(event: {
  headers: Record<string, string>;
  body: string;
}): Promise<{ statusCode: number }> {
  probot ??= new Probot({ appId: 1, privateKey: "unused", secret: process.env.WEBHOOK_SECRET ?? "" });
  probot.webhooks.on("pull_request", () => undefined);
  await probot.webhooks.verifyAndReceive({
    id: event.headers["x-github-delivery"] ?? "",
    name: event.headers["x-github-event"] as "pull_request",
    payload: event.body,
    signature: event.headers["x-hub-signature-256"] ?? "",
  });
  return { statusCode: 202 };
}
