// The kubeconfig function: the App's OAuth client credentials (never its private key) and the
// cluster as prenv-kubeconfig.
import type { AccessDeps } from "../../access/issue.js";
import type { LoginInfo } from "../../access/device-flow.js";
import { accessDeps, loginInfo } from "../access.js";
import { loadSettings } from "../settings.js";
import { clusterKubeConfig } from "./eks.js";
import { rootLogger } from "./logger.js";
import { once } from "./once.js";
import { clientCredentials } from "./secrets.js";

const root = once(async () => {
  const settings = loadSettings(process.env);
  const client = await clientCredentials(settings);
  return { settings, client, log: rootLogger(settings) };
});

const kubeConfig = once(async () => {
  const { settings } = await root();
  return clusterKubeConfig(settings, settings.accessKubeContext);
});

export async function kubeconfigDeps(): Promise<AccessDeps> {
  const { settings, client, log } = await root();
  return accessDeps({ client, kubeConfig: await kubeConfig(), settings, log });
}

export async function kubeconfigLogin(): Promise<LoginInfo> {
  const { settings, client } = await root();
  return loginInfo(client, settings);
}
