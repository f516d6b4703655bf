// API Gateway HTTP API → one kubeconfig request. See src/runtime/kubeconfig-handler.ts.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { createKubeconfigHandler } from "../runtime/kubeconfig-handler.js";
import { kubeconfigDeps, kubeconfigLogin } from "../runtime/root/kubeconfig.js";

const handle = createKubeconfigHandler(kubeconfigDeps, kubeconfigLogin);

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return handle({
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: new URLSearchParams(event.rawQueryString ?? ""),
    headers: event.headers,
  });
}
