// Per-test fixtures for the cluster tier: an admin client, the bot's and the kubeconfig endpoint's
// clients (with exactly the rights deploy/rbac.yaml grants each), and fresh namespace names that
// are deleted after the test.
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { inject, test as base } from "vitest";
import { ImpersonatingKubeConfig, loadKubeConfig } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { ACCESS_CONTEXT, ADMIN_CONTEXT, BOT_CONTEXT } from "./controlplane.js";
import type { NodeInfo } from "./node.js";

export const TEST_LABEL = "prenv.test/run";

function adminConfig(): KubeConfig {
  return inject("clusterMode") === "local"
    ? loadKubeConfig(inject("kubeconfig"), ADMIN_CONTEXT)
    : loadKubeConfig(inject("kubeconfig"));
}

function botConfig(admin: KubeConfig): KubeConfig {
  // On the local control plane the bot has its own client certificate (user prenv-bot, group
  // prenv-bot); on an external cluster the admin impersonates that identity.
  return inject("clusterMode") === "local"
    ? loadKubeConfig(inject("kubeconfig"), BOT_CONTEXT)
    : new ImpersonatingKubeConfig(admin, { user: "prenv-bot", group: "prenv-bot" });
}

function accessConfig(admin: KubeConfig): KubeConfig {
  // The kubeconfig endpoint's identity (user and group prenv-kubeconfig), as the bot's above.
  return inject("clusterMode") === "local"
    ? loadKubeConfig(inject("kubeconfig"), ACCESS_CONTEXT)
    : new ImpersonatingKubeConfig(admin, { user: "prenv-kubeconfig", group: "prenv-kubeconfig" });
}

export function slug(s: string, max = 30): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, max)
    .replace(/-+$/g, "");
}

interface Fixtures {
  admin: KubeConfig;
  bot: KubeConfig;
  /** The kubeconfig endpoint's identity, with exactly the rights deploy/rbac.yaml grants it. */
  access: KubeConfig;
  /** Returns a fresh namespace name; the namespace (if anyone created it) is deleted afterwards. */
  freshName: (prefix?: string) => string;
  /** A namespace created for this test by the admin, deleted afterwards. */
  ns: string;
  /** The test node; a test using it is skipped, saying why, where there is none. */
  node: NodeInfo;
}

export const clusterTest = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern
  admin: async ({}, use) => {
    await use(adminConfig());
  },
  bot: async ({ admin }, use) => {
    await use(botConfig(admin));
  },
  access: async ({ admin }, use) => {
    await use(accessConfig(admin));
  },
  freshName: async ({ admin, task }, use) => {
    const names: string[] = [];
    await use((prefix = slug(task.name, 20)) => {
      const name = `t-${prefix}-${randomBytes(3).toString("hex")}`;
      names.push(name);
      return name;
    });
    const core = admin.makeApiClient(CoreV1Api);
    await Promise.all(names.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
  },
  node: async ({ skip }, use) => {
    const node = inject("node");
    if (!node) return skip(`no test node: ${inject("nodeSkipReason")}`);
    await use(node);
  },
  ns: async ({ admin, freshName }, use) => {
    const name = freshName();
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name, labels: { [TEST_LABEL]: "1" } } } });
    await use(name);
  },
});
