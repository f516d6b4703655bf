// API Gateway HTTP API → verify and enqueue. See src/runtime/webhook-handler.ts.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { awsRuntime } from "../runtime/aws.js";
import { createWebhookHandler } from "../runtime/webhook-handler.js";

let handle: ReturnType<typeof createWebhookHandler> | undefined;

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const rt = await awsRuntime();
  handle ??= createWebhookHandler({ probot: rt.probot, secret: rt.secrets.webhookSecret });
  return handle({ headers: event.headers, body: event.body, isBase64Encoded: event.isBase64Encoded });
}
