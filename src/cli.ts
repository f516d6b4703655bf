// `prenv` command line (local use): `prenv janitor [--dry-run]`.
// Uses the same settings as `npm start` (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, KUBECONFIG,
// KUBE_CONTEXT, PRENV_*). The janitor reconciles what it finds inline, one PR at a time.
import { readFileSync } from "node:fs";
import { Probot } from "probot";
import { pino } from "pino";
import { KubernetesCluster } from "./adapters/kubernetes/cluster.js";
import { loadKubeConfig } from "./adapters/kubernetes/kubeconfig.js";
import type { JanitorReport } from "./environment/janitor.js";
import { runSweep } from "./runtime/janitor.js";
import { loadSettings } from "./runtime/settings.js";
import { loadTemplates } from "./runtime/templates.js";
import { processJob } from "./runtime/worker.js";

const USAGE = "usage: prenv janitor [--dry-run]";

function fail(message: string): never {
  console.error(`prenv: ${message}`);
  process.exit(2);
}

export function formatReport(r: JanitorReport, dryRun: boolean): string {
  const verb = dryRun ? "would " : "";
  const lines = [
    `${r.environments} environment(s) in ${r.repositories} repositor${r.repositories === 1 ? "y" : "ies"}`,
  ];
  for (const x of r.reconciled) lines.push(`  ${verb}reconcile ${x.namespace}: ${x.reason}`);
  for (const x of r.deleted) lines.push(`  ${verb}delete ${x.namespace}: ${x.reason}`);
  for (const x of r.skipped) lines.push(`  skip ${x.namespace}: ${x.reason}`);
  if (r.reconciled.length + r.deleted.length === 0) lines.push("  nothing to do");
  if (r.saved.asleep > 0) {
    lines.push(
      `  asleep: ${r.saved.asleep} environment(s), saving ${r.saved.cpuHours} CPU-hours and ${r.saved.memoryGiBHours} GiB-hours so far`,
    );
  }
  for (const [repo, c] of Object.entries(r.cost)) {
    lines.push(`  cost ${repo}: ${c.environments} environment(s), ~${c.perDay.toFixed(2)} ${r.currency}/day`);
  }
  return lines.join("\n");
}

async function janitor(dryRun: boolean): Promise<void> {
  const settings = loadSettings();
  const appId = process.env.APP_ID;
  const privateKey =
    process.env.PRIVATE_KEY ??
    (process.env.PRIVATE_KEY_PATH ? readFileSync(process.env.PRIVATE_KEY_PATH, "utf8") : undefined);
  if (!appId || !privateKey)
    fail("set APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) to the GitHub App's credentials");
  const log = pino({ level: process.env.LOG_LEVEL ?? "warn" });
  const probot = new Probot({
    appId,
    privateKey,
    log,
    ...(process.env.GHE_HOST ? { baseUrl: `https://${process.env.GHE_HOST}/api/v3` } : {}),
  });
  const kubeConfig = loadKubeConfig(settings.kubeconfigPath, settings.kubeContext);
  const cluster = new KubernetesCluster(kubeConfig);
  const templates = loadTemplates();
  const report = await runSweep({
    probot,
    cluster,
    enqueue: (job) =>
      processJob(job, { settings, kubeConfig, templates, log, octokitFor: (id) => probot.auth(id) }).then(
        () => undefined,
      ),
    prices: settings.environment.prices,
    log: { info: () => undefined, warn: (m, s) => log.warn(m, s), error: (m, s) => log.error(m, s) },
    dryRun,
  });
  console.log(formatReport(report, dryRun));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "janitor" && args.every((a) => a === "--dry-run")) {
  await janitor(args.includes("--dry-run")).catch((err: unknown) =>
    fail(err instanceof Error ? err.message : String(err)),
  );
} else {
  fail(USAGE);
}
