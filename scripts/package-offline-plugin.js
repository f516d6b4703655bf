// osls plugin for packaging without AWS credentials (scripts/package-check.sh sets
// PRENV_PACKAGE_OFFLINE=1). When a service has layers, `osls package` asks CloudFormation for
// the deployed stack's outputs to reuse a layer zip already uploaded: an optimisation of the
// upload, which needs credentials and the network. Offline packaging skips only that question,
// as for a stack that does not exist yet; the template and the zips are what a deploy builds.
// Without PRENV_PACKAGE_OFFLINE=1 (every deploy) this plugin does nothing.
import process from "node:process";

export default class PackageOffline {
  constructor(serverless) {
    this.hooks = {
      "before:package:compileLayers": () => {
        if (process.env.PRENV_PACKAGE_OFFLINE !== "1") return;
        for (const plugin of serverless.pluginManager.getPlugins()) {
          if (typeof plugin.compareWithLastLayer === "function") {
            plugin.compareWithLastLayer = async () => undefined;
          }
        }
      },
    };
  }
}
