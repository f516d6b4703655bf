// API Gateway HTTP API → verify and enqueue. See src/runtime/webhook-handler.ts.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { webhookRoot } from "../runtime/root/webhook.js";

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const { handle } = await webhookRoot();
  return handle({ headers: event.headers, body: event.body, isBase64Encoded: event.isBase64Encoded });
}
