// API Gateway HTTP API → one kubeconfig request. See src/runtime/kubeconfig-handler.ts.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { accessDeps } from "../runtime/access.js";
import { awsRuntime, kubeConfigFor } from "../runtime/aws.js";
import { createKubeconfigHandler } from "../runtime/kubeconfig-handler.js";

let handle: ReturnType<typeof createKubeconfigHandler> | undefined;

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const rt = await awsRuntime();
  handle ??= createKubeconfigHandler(async () =>
    accessDeps({
      probot: rt.probot,
      kubeConfig: await kubeConfigFor(rt),
      settings: rt.settings,
      log: rt.log,
    }),
  );
  return handle({
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: new URLSearchParams(event.rawQueryString ?? ""),
    headers: event.headers,
  });
}
