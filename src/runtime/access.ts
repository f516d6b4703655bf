// Wiring for the kubeconfig endpoint: the real adapters behind the access use case. Shared by the
// local server (`npm start`), the Lambda route and the tests. It takes the GitHub App's OAuth client
// credentials, never its private key, and the kubeconfig endpoint's own Kubernetes identity.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { LoginInfo } from "../access/device-flow.js";
import type { AccessDeps } from "../access/issue.js";
import { GitHubAccess } from "../adapters/github/access.js";
import type { Settings } from "./settings.js";
import { hostCluster } from "./worker.js";

/** The GitHub App as an OAuth client: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET. */
export interface AppClientCredentials {
  clientId: string;
  clientSecret: string;
}

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
    log: { info: (m, s) => log.info(m, s), warn: (m, s) => log.warn(m, s), error: (m, s) => log.error(m, s) },
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
