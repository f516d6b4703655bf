// The HTTP shape of the kubeconfig endpoint before any GitHub or Kubernetes call: what a request
// must look like. What happens after (the permission matrix and the issued kubeconfig) is proven
// against the real API server in test/cluster/kubeconfig-endpoint.test.ts.
import { describe, expect, it } from "vitest";
import { bearerToken, createKubeconfigHandler } from "../../../src/runtime/kubeconfig-handler.js";

const untouched = () => Promise.reject(new Error("a malformed request must not reach GitHub or the cluster"));
const handle = createKubeconfigHandler(untouched);
const get = (path: string, method = "GET") =>
  handle({ method, path, query: new URLSearchParams(), headers: { authorization: "Bearer x" } });

describe("the kubeconfig endpoint's requests", () => {
  it.each([
    ["Bearer gho_abc", "gho_abc"],
    ["bearer   gho_abc  ", "gho_abc"],
    ["token ghp_x", "ghp_x"],
    ["Basic dXNlcjpwYXNz", null],
    ["Bearer", null],
    ["Bearer a b", null],
    [undefined, null],
  ])("reads the token from %j", (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ["/api/kubeconfig/acme/web", 400],
    ["/api/kubeconfig/acme/web/7/extra", 400],
    ["/api/kubeconfig/acme//7", 400],
    ["/api/kubeconfig/%E0%A4%A/web/7", 400],
    ["/api/other", 404],
  ])("answers %s with %i, never calling out", async (path, status) => {
    const res = await get(path);
    expect(res.statusCode).toBe(status);
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  it("allows GET only", async () => {
    const res = await get("/api/kubeconfig/acme/web/7", "POST");
    expect([res.statusCode, res.headers.allow]).toEqual([405, "GET"]);
  });

  it("tells the CLI whose device flow to run: the App's client id and GitHub's web host, nothing secret", async () => {
    const login = createKubeconfigHandler(untouched, () =>
      Promise.resolve({ clientId: "Iv23abc", githubUrl: "https://github.com" }),
    );
    const res = await login({
      method: "GET",
      path: "/api/kubeconfig/login",
      query: new URLSearchParams(),
      headers: {},
    });
    expect([res.statusCode, JSON.parse(res.body)]).toEqual([
      200,
      { client_id: "Iv23abc", github_url: "https://github.com" },
    ]);
    // Not set up: one line saying so, never a guess.
    const none = await handle({
      method: "GET",
      path: "/api/kubeconfig/login",
      query: new URLSearchParams(),
      headers: {},
    });
    expect(none.statusCode).toBe(503);
    expect(none.body).toContain("client id is not configured");
  });

  it("says so when it cannot reach its cluster or GitHub at all", async () => {
    const res = await get("/api/kubeconfig/acme/web/7");
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatch(/^prenv: /);
  });
});
