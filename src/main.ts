// `npm start`: prenv as one local process: Probot's server, an in-process queue that serialises
// work per PR, and the current kubeconfig context. It fails closed (src/runtime/local-start.ts):
// without the GitHub App's credentials and webhook secret it does not start, unless
// PRENV_DEVELOPMENT=1 opts into Probot's setup page or an empty webhook secret.
import type { KubeConfig } from "@kubernetes/client-node";
import { run, type Probot } from "probot";
import { pino } from "pino";
import { prenvApp } from "./app.js";
import { accessDeps, loginInfo, type AppClientCredentials } from "./runtime/access.js";
import { createKubeconfigHandler, nodeKubeconfigHandler } from "./runtime/kubeconfig-handler.js";
import { loadKubeConfig } from "./adapters/kubernetes/kubeconfig.js";
import { LocalQueue } from "./runtime/local-queue.js";
import { checkLocalStart, StartError, withDotEnv, type LocalStart } from "./runtime/local-start.js";
import { ACCESS_PERMISSIONS, preflight } from "./runtime/preflight.js";
import { loadSettings } from "./runtime/settings.js";
import { loadTemplates } from "./runtime/templates.js";
import { processJob, retryPolicy } from "./runtime/worker.js";

function fail(message: string): never {
  console.error(`prenv: ${message}`);
  process.exit(1);
}

let start: LocalStart;
let env: NodeJS.ProcessEnv;
try {
  env = withDotEnv(process.env, process.cwd());
  start = checkLocalStart(env, process.cwd());
} catch (err) {
  fail(err instanceof StartError ? err.message : `cannot start: ${(err as Error).message}`);
}
if (start.kind === "app") env = start.env;
const log = pino({ level: env.LOG_LEVEL ?? "info" });
for (const warning of start.warnings) log.warn(warning);
let settings;
try {
  settings = loadSettings(env);
} catch (err) {
  fail((err as Error).message);
}

// The kubeconfig endpoint: the App's OAuth client (to check callers' tokens) and its own identity.
const client: AppClientCredentials | null =
  env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET
    ? { clientId: env.GITHUB_CLIENT_ID, clientSecret: env.GITHUB_CLIENT_SECRET }
    : null;
let kubeConfig: KubeConfig | undefined;
let accessKubeConfig: KubeConfig | undefined;
if (start.kind === "app") {
  try {
    kubeConfig = loadKubeConfig(settings.kubeconfigPath, settings.kubeContext);
    accessKubeConfig =
      settings.accessKubeContext === settings.kubeContext
        ? kubeConfig
        : loadKubeConfig(settings.kubeconfigPath, settings.accessKubeContext);
  } catch (err) {
    fail(`cannot load kubeconfig: ${(err as Error).message}`);
  }
  await preflight(kubeConfig).catch((err: unknown) => fail((err as Error).message));
  if (!client) {
    log.warn(
      "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set: the kubeconfig endpoint refuses every request",
    );
  }
  await preflight(accessKubeConfig, ACCESS_PERMISSIONS, "prenv-kubeconfig").catch((err: unknown) =>
    log.warn(`the kubeconfig endpoint cannot issue kubeconfigs: ${(err as Error).message}`),
  );
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
const kubeconfigs = createKubeconfigHandler(
  () => {
    if (!client || !accessKubeConfig) return Promise.reject(new Error("prenv is not configured"));
    return Promise.resolve(accessDeps({ client, kubeConfig: accessKubeConfig, settings, log }));
  },
  () => (client ? Promise.resolve(loginInfo(client, settings)) : Promise.reject(new Error("no client id"))),
);
await run(
  (app: Probot, { addHandler }) => {
    probot = app;
    appFn(app);
    addHandler(nodeKubeconfigHandler(kubeconfigs));
  },
  start.kind === "app" ? { env } : undefined,
);
