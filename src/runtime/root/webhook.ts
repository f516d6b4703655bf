// The webhook function: verify, enqueue. Its handlers run on @octokit/webhooks with the webhook
// secret only: no private key, no cluster, no templates (this module imports none of them, so its
// bundle holds none either).
import { Webhooks } from "@octokit/webhooks";
import { prenvApp } from "../../app.js";
import { loadSettings } from "../settings.js";
import { createWebhookHandler } from "../webhook-handler.js";
import { once } from "./once.js";
import { functionCredentials } from "./aws.js";
import { sqsQueue } from "./queue.js";
import { webhookCredentials } from "./secrets.js";

export const webhookRoot = once(async () => {
  const settings = loadSettings(process.env);
  const { appId, webhookSecret } = await webhookCredentials(settings);
  const events = new Webhooks({ secret: webhookSecret });
  prenvApp({ queue: sqsQueue(settings, functionCredentials(settings)), appId })(events);
  return { handle: createWebhookHandler({ events, secret: webhookSecret }) };
});
