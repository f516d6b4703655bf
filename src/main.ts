// `npm start`: prenv as one local process: Probot's server (its GitHub App setup page when no
// App is configured yet), an in-process queue that serialises work per PR, and the current
// kubeconfig context.
import type { KubeConfig } from "@kubernetes/client-node";
import { run, type Probot } from "probot";
import { pino } from "pino";
import { prenvApp } from "./app.js";
import { accessDeps } from "./runtime/access.js";
import { createKubeconfigHandler, nodeKubeconfigHandler } from "./runtime/kubeconfig-handler.js";
import { loadKubeConfig } from "./adapters/kubernetes/kubeconfig.js";
import { LocalQueue } from "./runtime/local-queue.js";
import { preflight } from "./runtime/preflight.js";
import { loadSettings } from "./runtime/settings.js";
import { loadTemplates } from "./runtime/templates.js";
import { processJob, retryPolicy } from "./runtime/worker.js";

function fail(message: string): never {
  console.error(`prenv: ${message}`);
  process.exit(1);
}

const log = pino({ level: process.env.LOG_LEVEL ?? "info" });
let settings;
try {
  settings = loadSettings();
} catch (err) {
  fail((err as Error).message);
}
const configured = Boolean(process.env.APP_ID && (process.env.PRIVATE_KEY || process.env.PRIVATE_KEY_PATH));

let kubeConfig: KubeConfig | undefined;
try {
  kubeConfig = loadKubeConfig(settings.kubeconfigPath, settings.kubeContext);
} catch (err) {
  if (configured) fail(`cannot load kubeconfig: ${(err as Error).message}`);
}
if (configured && kubeConfig) {
  await preflight(kubeConfig).catch((err: unknown) => fail((err as Error).message));
} else if (!configured) {
  log.warn("no GitHub App configured yet (APP_ID, PRIVATE_KEY): starting Probot's setup page");
}

const templates = loadTemplates();
let probot: Probot | undefined;
const queue = new LocalQueue({
  run: async (job) => {
    if (!probot || !kubeConfig) throw new Error("prenv is not configured");
    const app = probot;
    await processJob(job, {
      settings,
      kubeConfig,
      templates,
      log,
      probot: app,
    });
  },
  onError: retryPolicy(log),
});

const appFn = prenvApp({ queue, appId: settings.appId });
// GET /api/kubeconfig/<owner>/<repo>/<number>: self-service kubeconfigs (see README, "kubectl access").
const kubeconfigs = createKubeconfigHandler(() => {
  if (!probot || !kubeConfig) return Promise.reject(new Error("prenv is not configured"));
  return Promise.resolve(accessDeps({ probot, kubeConfig, settings, log }));
});
await run((app: Probot, { addHandler }) => {
  probot = app;
  appFn(app);
  addHandler(nodeKubeconfigHandler(kubeconfigs));
});
