// Wiring for the kubeconfig endpoint: the real adapters behind the access use case. Shared by the
// local server (`npm start`), the Lambda route and the tests.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Probot } from "probot";
import type { Logger } from "pino";
import type { AccessDeps } from "../access/issue.js";
import { GitHubAccess } from "../adapters/github/access.js";
import type { Settings } from "./settings.js";
import { hostCluster } from "./worker.js";

export function accessDeps(o: {
  probot: Probot;
  kubeConfig: KubeConfig;
  settings: Settings;
  log: Logger;
  now?: () => Date;
}): AccessDeps {
  const log = o.log.child({ endpoint: "kubeconfig" });
  return {
    github: new GitHubAccess(o.probot, { appId: o.settings.appId }),
    cluster: hostCluster(o.kubeConfig, o.settings),
    clock: { now: o.now ?? (() => new Date()) },
    log: { info: (m, s) => log.info(m, s), warn: (m, s) => log.warn(m, s), error: (m, s) => log.error(m, s) },
    settings: {
      namespacePrefix: o.settings.environment.namespacePrefix,
      access: o.settings.environment.access,
    },
  };
}
