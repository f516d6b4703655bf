// A Helm chart from the pull request's head commit, rendered with `helm template`: offline (no
// cluster, so `lookup` finds nothing), without hooks, with dependencies only as vendored under the
// chart's charts/ directory. Its values: the chart's values.yaml, the repository's values files in
// order, `set`, and prenv's own values under `prenv.*` (last, so a repository cannot fake them).
import { posix } from "node:path";
import { parse as parseYaml } from "yaml";
import type { ToolRun } from "./ports.js";
import { joinRepo, SourceProblem, type RepoSnapshot } from "./tree.js";

/** Where the repository's files go in the work directory; prenv's own files go under `prenv/`. */
export const REPO_DIR = "repo";

export interface HelmSource {
  chart: string;
  values: string[];
  /** Dotted key → value, text values already rendered. */
  set: Record<string, string | number | boolean | null>;
  releaseName: string;
}

/** The values prenv gives every chart, under `prenv`. */
export interface PrenvValues {
  host: string;
  namespace: string;
  pr: number;
  sha: string;
  shortSha: string;
  branchSlug: string;
  image: string | null;
}

const CHART_FILE = "Chart.yaml";

/** Picks the chart's files and the values files; returns the chart's name (for error messages). */
export async function pickChart(repo: RepoSnapshot, source: HelmSource): Promise<string> {
  const chart = source.chart.replace(/\/+$/, "");
  const root = repo.entry(chart);
  if (!root || root.type !== "dir") {
    throw new SourceProblem(
      `deploy.helm.chart '${chart}' is not a directory at commit ${repo.short}; point it at the directory holding ${CHART_FILE}.`,
    );
  }
  if (!repo.entry(`${chart}/${CHART_FILE}`)) {
    throw new SourceProblem(`deploy.helm.chart '${chart}' has no ${CHART_FILE} at commit ${repo.short}.`);
  }
  for (const e of repo.below(chart)) {
    const depth = e.path.slice(chart.length + 1).split("/").length;
    if (depth > repo.limits.maxDepth + 1) {
      throw new SourceProblem(
        `${e.path} is nested ${depth - 1} directories below the chart; the limit is ${repo.limits.maxDepth}.`,
      );
    }
    if (e.type === "dir") continue;
    await repo.pick(e.path, chart, `${REPO_DIR}/${e.path}`);
  }
  for (const values of source.values) {
    const entry = repo.entry(values);
    if (!entry) {
      throw new SourceProblem(
        `deploy.helm.values names ${values}, which does not exist at commit ${repo.short}.`,
      );
    }
    await repo.pick(values, "", `${REPO_DIR}/${values}`);
  }
  const chartYaml = await repo.read(repo.picked.get(`${REPO_DIR}/${chart}/${CHART_FILE}`)!.sha);
  return chartName(chartYaml, chart);
}

function chartName(bytes: Uint8Array, chart: string): string {
  try {
    const doc: unknown = parseYaml(Buffer.from(bytes).toString("utf8"), { maxAliasCount: 10 });
    const name = (doc as { name?: unknown } | null)?.name;
    if (typeof name === "string" && /^[A-Za-z0-9_.-]{1,100}$/.test(name)) return name;
  } catch {
    // helm reports a broken Chart.yaml itself, with the line
  }
  return posix.basename(chart);
}

/** The `helm template` run: files already picked from the repository plus prenv's two values files. */
export function helmRun(
  source: HelmSource,
  opts: {
    files: Map<string, Uint8Array>;
    prenv: PrenvValues;
    namespace: string;
    kubeVersion: string;
    includeCrds: boolean;
  },
): ToolRun {
  const files = new Map(opts.files);
  files.set("prenv/set.json", json(expandDotted(source.set)));
  files.set("prenv/prenv.json", json({ prenv: opts.prenv }));
  const args = [
    "template",
    source.releaseName,
    `${REPO_DIR}/${source.chart.replace(/\/+$/, "")}`,
    "--namespace",
    opts.namespace,
    "--kube-version",
    opts.kubeVersion,
    // Hooks (and chart tests, which are hooks) would be run by helm install, never by prenv.
    "--no-hooks",
    ...(opts.includeCrds ? ["--include-crds"] : []),
    ...source.values.flatMap((v) => ["--values", `${REPO_DIR}/${v}`]),
    "--values",
    "prenv/set.json",
    "--values",
    "prenv/prenv.json",
  ];
  return { tool: "helm", args, files };
}

/** `{ "image.tag": "x" }` → `{ image: { tag: "x" } }`; a later key wins over an earlier one. */
export function expandDotted(set: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(set)) {
    const parts = key.split(".");
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = Object.hasOwn(node, part) ? node[part] : undefined;
      if (typeof next !== "object" || next === null) {
        define(node, part, {});
      }
      node = node[part] as Record<string, unknown>;
    }
    define(node, parts.at(-1)!, value);
  }
  return out;
}

function define(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

function json(value: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");
}

/**
 * Splits `helm template` output into one file per template (helm's `# Source:` comments), named by
 * their path in the repository, so that later messages point at the template that produced them.
 */
export function splitHelmOutput(
  stdout: string,
  chartName: string,
  chartDir: string,
): { path: string; content: string }[] {
  const byPath = new Map<string, string[]>();
  let current = `${chartDir}/(rendered)`;
  for (const doc of stdout.split(/^---[ \t]*$/m)) {
    const source = /^# Source: (.+)$/m.exec(doc)?.[1]?.trim();
    if (source) current = repoPathOf(source, chartName, chartDir);
    if (doc.trim() === "") continue;
    const list = byPath.get(current) ?? [];
    list.push(doc.replace(/^\n+/, ""));
    byPath.set(current, list);
  }
  return [...byPath].map(([path, docs]) => ({ path, content: docs.join("---\n") }));
}

/** `web/templates/a.yaml` (chart name first, as helm prints it) → `deploy/chart/templates/a.yaml`. */
function repoPathOf(source: string, chartName: string, chartDir: string): string {
  return source.startsWith(`${chartName}/`) ? joinRepo(chartDir, source.slice(chartName.length + 1)) : source;
}

/**
 * Helm's error as a message naming the file and line in the repository, e.g.
 * `deploy/chart/templates/cm.yaml line 5: helm template failed: ... nil pointer evaluating ...`.
 * A YAML error in a template's output names the line of that output (`(rendered)`).
 */
export function helmProblem(stderr: string, chartName: string, chartDir: string): string {
  const message = errorLines(stderr)
    .replaceAll(`${REPO_DIR}/`, "")
    .replace(new RegExp(`(^|[\\s("'<])${escapeRegExp(chartName)}/`, "g"), `$1${chartDir}/`);
  return `${where(message)}helm template failed: ${message}`;
}

const FILE = String.raw`([^\s():"'<>]+\.(?:ya?ml|tpl|txt|json))`;
const RENDERED_YAML = new RegExp(String.raw`YAML parse error on ${FILE}: .*?\bline (\d+)`);
const VALUES_YAML = new RegExp(String.raw`failed to parse ${FILE}: .*?\bline (\d+)`);
const TEMPLATE_AT = new RegExp(String.raw`${FILE}:(\d+)(?::\d+)?`);

function where(message: string): string {
  const rendered = RENDERED_YAML.exec(message);
  if (rendered) return `${rendered[1]} (rendered) line ${rendered[2]}: `;
  const at = VALUES_YAML.exec(message) ?? TEMPLATE_AT.exec(message);
  return at ? `${at[1]} line ${at[2]}: ` : "";
}

/**
 * The meaningful part of a tool's error output: its first `Error:` line with the indented lines
 * that continue it (or else the last lines), on one line, capped.
 */
export function errorLines(stderr: string): string {
  const lines = stderr.split("\n");
  const first = lines.findIndex((l) => /^Error:/i.test(l));
  let chosen: string[];
  if (first === -1) {
    chosen = lines.filter((l) => l.trim() !== "").slice(-3);
  } else {
    chosen = [lines[first]!];
    for (const line of lines.slice(first + 1)) {
      if (!/^\s+\S/.test(line)) break;
      chosen.push(line);
    }
  }
  const text = chosen
    .map((l) => l.trim())
    .join(" ")
    .replace(/^Error:\s*/i, "");
  if (text === "") return "(no error message)";
  // A template that includes itself nests the same words hundreds of times: keep both ends.
  return text.length > 600 ? `${text.slice(0, 300)} … ${text.slice(-250)}` : text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
