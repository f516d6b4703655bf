// Settings that depend on the host cluster itself, asked once per process: the Pod Security
// Standards version prenv pins on every namespace is the host's own minor version (unless the
// operator sets PRENV_POD_SECURITY_VERSION), so a host upgrade never silently changes what previews
// may run, and "latest" is never used.
import { VersionApi, type KubeConfig } from "@kubernetes/client-node";
import { retrying } from "../adapters/kubernetes/retry.js";
import type { Settings } from "./settings.js";

const versions = new WeakMap<KubeConfig, Promise<string>>();

/** The host's minor version as Pod Security labels spell it, e.g. `v1.34` (EKS reports `34+`). */
export function hostMinorVersion(kubeConfig: KubeConfig): Promise<string> {
  let version = versions.get(kubeConfig);
  if (!version) {
    const api = kubeConfig.makeApiClient(VersionApi);
    version = retrying(() => api.getCode()).then((info) => {
      const minor = /^[0-9]+/.exec(info.minor)?.[0];
      if (info.major !== "1" || !minor) {
        throw new Error(
          `the API server reports version ${info.major}.${info.minor}, which prenv cannot read`,
        );
      }
      return `v1.${minor}`;
    });
    versions.set(kubeConfig, version);
    version.catch(() => versions.delete(kubeConfig));
  }
  return version;
}

/** `settings` with what only the host can tell filled in. */
export async function withHostSettings(settings: Settings, kubeConfig: KubeConfig): Promise<Settings> {
  if (settings.environment.podSecurityVersion) return settings;
  const podSecurityVersion = await hostMinorVersion(kubeConfig);
  return { ...settings, environment: { ...settings.environment, podSecurityVersion } };
}
