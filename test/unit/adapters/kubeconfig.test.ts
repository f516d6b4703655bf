// Impersonation must keep credentials that are made per request (EKS tokens), not only those
// stored in the kubeconfig.
import { KubeConfig, VersionApi, type RequestContext } from "@kubernetes/client-node";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ImpersonatingKubeConfig } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { RawKube } from "../../../src/adapters/kubernetes/raw.js";

class PerRequestToken extends KubeConfig {
  calls = 0;
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam("Authorization", `Bearer fresh-${++this.calls}`);
  }
}

const seen: IncomingHttpHeaders[] = [];
const server = createServer((req, res) => {
  seen.push(req.headers);
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ major: "1", minor: "34", gitVersion: "v1.34.4", resources: [] }));
});
const url = await new Promise<string>((r) =>
  server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(server.address() as { port: number }).port}`)),
);

afterEach(() => {
  seen.length = 0;
});

function base(): PerRequestToken {
  const kc = new PerRequestToken();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: url, skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

describe("ImpersonatingKubeConfig", () => {
  it("sends the base's per-request token and the impersonation headers (generated clients)", async () => {
    const kc = new ImpersonatingKubeConfig(base(), {
      user: "system:serviceaccount:ns:prenv-tenant",
      group: "g",
    });
    await kc.makeApiClient(VersionApi).getCode();
    expect(seen[0]).toMatchObject({
      authorization: "Bearer fresh-1",
      "impersonate-user": "system:serviceaccount:ns:prenv-tenant",
      "impersonate-group": "g",
    });
  });

  it("does the same for raw requests (server-side apply)", async () => {
    const kc = new ImpersonatingKubeConfig(base(), { user: "someone" });
    await new RawKube(kc).request("GET", "/version");
    expect(seen[0]).toMatchObject({ authorization: "Bearer fresh-1", "impersonate-user": "someone" });
  });
});
