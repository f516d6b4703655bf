// The start-up check against the real API server: passes for the bot's production RBAC, names
// every missing permission for an identity without it, and reports an unreachable server.
import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect } from "vitest";
import { ImpersonatingKubeConfig } from "../../src/adapters/kubernetes/kubeconfig.js";
import { ACCESS_PERMISSIONS, preflight } from "../../src/runtime/preflight.js";
import { clusterTest as test } from "./harness/fixtures.js";

describe("start-up preflight", () => {
  test("passes for prenv-bot with deploy/rbac.yaml applied", async ({ bot }) => {
    await expect(preflight(bot)).resolves.toBeUndefined();
  });

  test("passes for prenv-kubeconfig with its own permissions, which the bot no longer holds", async ({
    access,
    bot,
  }) => {
    await expect(preflight(access, ACCESS_PERMISSIONS, "prenv-kubeconfig")).resolves.toBeUndefined();
    const err = (await preflight(bot, ACCESS_PERMISSIONS, "prenv-kubeconfig").catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toBe(
      "the Kubernetes identity in use lacks: create serviceaccounts/token named prenv-tenant; apply deploy/rbac.yaml and map this identity to the prenv-kubeconfig group",
    );
    // And the kubeconfig identity cannot pass as the bot.
    await expect(preflight(access)).rejects.toThrow(/lacks: .*create namespaces/);
  });

  test("names every permission an identity lacks, in one line", async ({ admin }) => {
    const err = (await preflight(new ImpersonatingKubeConfig(admin, { user: "someone-else" })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).not.toContain("\n");
    expect(err.message).toContain("create namespaces");
    expect(err.message).toContain("bind clusterroles.rbac.authorization.k8s.io named prenv-tenant");
    expect(err.message).toContain("impersonate serviceaccounts named prenv-tenant");
    expect(err.message).toContain("deploy/rbac.yaml");
  });

  test("says which server it could not reach", async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "https://127.0.0.1:9", skipTLSVerify: true }],
      users: [{ name: "u", token: "x" }],
      contexts: [{ name: "ctx", cluster: "c", user: "u" }],
      currentContext: "ctx",
    });
    const err = (await preflight(kc).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe("CLUSTER_UNREACHABLE");
    expect(err.message).toContain("https://127.0.0.1:9");
    expect(err.message).toContain("KUBECONFIG");
  });
});
