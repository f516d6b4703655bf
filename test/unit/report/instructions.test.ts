import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderKubeconfig } from "../../../src/access/issue.js";
import { accessInstructions, kubeconfigPath } from "../../../src/report/instructions.js";
import { testSettings } from "../../support/settings.js";

describe("kubectl access in the PR comment", () => {
  it("is offered only where the operator published the endpoint", () => {
    expect(
      accessInstructions(testSettings().environment.access, { owner: "a", repo: "b", number: 1 }),
    ).toBeNull();
    const offered = accessInstructions(
      testSettings({ PRENV_PUBLIC_URL: "https://prenv.example.com/base/", PRENV_KUBECONFIG_TTL: "90m" })
        .environment.access,
      { owner: "acme", repo: "web.site", number: 12 },
    );
    expect(offered).toEqual({
      cli: "npx prenv kubeconfig acme/web.site#12 --url https://prenv.example.com/base > pr-12.kubeconfig",
      curl: 'curl --fail-with-body -sS -H "Authorization: Bearer $(npx prenv token --url https://prenv.example.com/base)" https://prenv.example.com/base/api/kubeconfig/acme/web.site/12 -o pr-12.kubeconfig',
      ttl: "90m",
    });
  });

  it("builds the endpoint path from GitHub names", () => {
    expect(kubeconfigPath({ owner: "acme", repo: "web", number: 7 })).toBe("/api/kubeconfig/acme/web/7");
  });
});

describe("an issued kubeconfig", () => {
  it("has one cluster, one token user and one context defaulting to the environment's namespace", () => {
    const text = renderKubeconfig(
      {
        server: "https://k8s.example.com",
        certificateAuthorityData: "Q0E=",
        token: "tok",
        expiresAt: new Date("2026-12-01T10:00:00.000Z"),
        namespace: "pr-1-a-b-123456",
        subject: "system:serviceaccount:pr-1-a-b-123456:prenv-tenant",
      },
      "prenv-a-b-1",
    );
    expect(text).toContain("valid until 2026-12-01T10:00:00Z");
    expect(parse(text)).toEqual({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "prenv-a-b-1",
          cluster: { server: "https://k8s.example.com", "certificate-authority-data": "Q0E=" },
        },
      ],
      users: [{ name: "prenv-a-b-1", user: { token: "tok" } }],
      contexts: [
        {
          name: "prenv-a-b-1",
          context: { cluster: "prenv-a-b-1", user: "prenv-a-b-1", namespace: "pr-1-a-b-123456" },
        },
      ],
      "current-context": "prenv-a-b-1",
    });
  });
});
