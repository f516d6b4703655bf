// Wiring for the kubeconfig endpoint: the real adapters behind the access use case. Shared by the
// local server (`npm start`), the Lambda route and the tests. It takes the GitHub App's OAuth client
// credentials, never its private key, and the kubeconfig endpoint's own Kubernetes identity.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { LoginInfo } from "../access/device-flow.js";
import type { AccessDeps } from "../access/issue.js";
import { GitHubAccess } from "../adapters/github/access.js";
import type { Settings } from "./settings.js";
import { domainLogger } from "./root/logger.js";
import type { AppClientCredentials } from "./root/secrets.js";
import { hostCluster } from "./root/cluster.js";

export function accessDeps(o: {
  client: AppClientCredentials;
  kubeConfig: KubeConfig;
  settings: Settings;
  log: Logger;
  now?: () => Date;
}): AccessDeps {
  const log = o.log.child({ endpoint: "kubeconfig" });
  return {
    github: new GitHubAccess({ baseUrl: o.settings.github.apiUrl, ...o.client }, { appId: o.settings.appId }),
    cluster: hostCluster(o.kubeConfig, o.settings),
    clock: { now: o.now ?? (() => new Date()) },
    log: domainLogger(log),
    settings: {
      namespacePrefix: o.settings.environment.namespacePrefix,
      access: o.settings.environment.access,
    },
  };
}

/** What the CLI needs to run the device flow: the App's client id and GitHub's web host. */
export function loginInfo(client: AppClientCredentials, settings: Settings): LoginInfo {
  return { clientId: client.clientId, githubUrl: settings.github.webUrl };
}
