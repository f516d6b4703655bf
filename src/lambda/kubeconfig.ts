// API Gateway HTTP API → one kubeconfig request. See src/runtime/kubeconfig-handler.ts.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { accessDeps, loginInfo } from "../runtime/access.js";
import { kubeConfigFor, kubeconfigRuntime } from "../runtime/aws.js";
import { createKubeconfigHandler } from "../runtime/kubeconfig-handler.js";

const handle = createKubeconfigHandler(
  async () => {
    const rt = await kubeconfigRuntime();
    const kubeConfig = await kubeConfigFor(rt, rt.settings.accessKubeContext);
    return accessDeps({ client: rt.client, kubeConfig, settings: rt.settings, log: rt.log });
  },
  async () => {
    const rt = await kubeconfigRuntime();
    return loginInfo(rt.client, rt.settings);
  },
);

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return handle({
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: new URLSearchParams(event.rawQueryString ?? ""),
    headers: event.headers,
  });
}
