// A Kustomize overlay from the pull request's head commit, rendered with `kustomize build`. Before
// kustomize sees anything, prenv walks the overlay's kustomization files and its bases and picks
// exactly the files they name, refusing what kustomize would fetch from elsewhere: remote bases
// (git or http), anything outside the repository, links out of a kustomization's directory,
// helmCharts (which download charts). kustomize then runs with its root-only load restrictor, no
// plugins and no exec functions, on a copy of just those files.
import { parse as parseYaml } from "yaml";
import type { ToolRun } from "./ports.js";
import { REPO_DIR, errorLines, type PrenvValues } from "./helm.js";
import { inside, joinRepo, quote, SourceProblem, type RepoSnapshot } from "./tree.js";

export interface KustomizeSource {
  path: string;
  /** Image names in the overlay that `deploy.image` replaces. */
  images: string[];
}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/** Fields whose entries are kustomizations (directories) or resource files, possibly remote. */
const RESOURCE_FIELDS = ["resources", "bases", "components"] as const;
/** Fields whose entries are files (or, for some, inline YAML). */
const FILE_LIST_FIELDS = [
  "crds",
  "configurations",
  "generators",
  "transformers",
  "validators",
  "patchesStrategicMerge",
] as const;
/** Fields that are lists of mappings with a `path`. */
const PATH_ITEM_FIELDS = ["patches", "patchesJson6902", "replacements"] as const;
const GENERATOR_FIELDS = ["configMapGenerator", "secretGenerator"] as const;
const REFUSED_FIELDS: Record<string, string> = {
  helmCharts: "downloads charts",
  helmChartInflationGenerator: "downloads charts",
  helmGlobals: "configures chart downloads",
};

type Mapping = Record<string, unknown>;

/** Picks the overlay's kustomization files and every file and base they name, recursively. */
export async function pickOverlay(repo: RepoSnapshot, source: KustomizeSource): Promise<void> {
  const overlay = source.path.replace(/\/+$/, "");
  const root = repo.entry(overlay);
  if (!root || root.type !== "dir") {
    throw new SourceProblem(
      `deploy.kustomize.path '${overlay}' is not a directory at commit ${repo.short}; point it at the directory holding kustomization.yaml.`,
    );
  }
  const seen = new Set<string>();
  const pending: { dir: string; depth: number; from: string | null }[] = [
    { dir: overlay, depth: 0, from: null },
  ];
  for (let next = pending.shift(); next; next = pending.shift()) {
    if (seen.has(next.dir)) continue;
    seen.add(next.dir);
    if (next.depth > repo.limits.maxDepth) {
      throw new SourceProblem(
        `${next.from}: kustomizations are nested more than ${repo.limits.maxDepth} deep (bases of bases...).`,
      );
    }
    const found = await visit(repo, next.dir, next.from);
    for (const dir of found) pending.push({ dir, depth: next.depth + 1, from: `${next.dir}` });
  }
}

/** Reads one kustomization, picks the files it names; returns the directories it names (bases). */
async function visit(repo: RepoSnapshot, dir: string, from: string | null): Promise<string[]> {
  const name = KUSTOMIZATION_FILES.find((f) => repo.entry(`${dir}/${f}`));
  if (!name) {
    throw new SourceProblem(
      from
        ? `${from} names ${dir}, which has no kustomization.yaml at commit ${repo.short}.`
        : `deploy.kustomize.path '${dir}' has no kustomization.yaml at commit ${repo.short}.`,
    );
  }
  const file = `${dir}/${name}`;
  await repo.pick(file, dir, `${REPO_DIR}/${file}`);
  const doc = parseKustomization(file, await repo.read(repo.picked.get(`${REPO_DIR}/${file}`)!.sha));
  for (const [field, why] of Object.entries(REFUSED_FIELDS)) {
    if (doc[field] !== undefined) {
      throw new SourceProblem(
        `${file}: ${field} ${why}, which prenv does not allow; use deploy.helm for a chart kept in the repository.`,
      );
    }
  }
  const bases: string[] = [];
  for (const field of RESOURCE_FIELDS) {
    for (const ref of strings(doc[field])) {
      const target = await resolveRef(repo, { file, dir, field }, ref);
      if (repo.entry(target.real)?.type !== "dir") {
        await repo.pick(target.path, dir, `${REPO_DIR}/${target.path}`);
      } else if (target.real === target.path) {
        bases.push(target.path);
      } else {
        throw new SourceProblem(
          `${file}: ${field} entry ${quote(ref)} is a symbolic link to a directory; name the directory itself.`,
        );
      }
    }
  }
  for (const ref of fileRefs(doc)) {
    const target = await resolveRef(repo, { file, dir, field: "files" }, ref);
    await repo.pick(target.path, dir, `${REPO_DIR}/${target.path}`);
  }
  return bases;
}

function parseKustomization(file: string, bytes: Uint8Array): Mapping {
  let doc: unknown;
  try {
    doc = parseYaml(Buffer.from(bytes).toString("utf8"), { maxAliasCount: 20 });
  } catch (err) {
    const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new SourceProblem(`${file}${line ? ` line ${line}` : ""}: the YAML is not valid.`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new SourceProblem(`${file} is not a kustomization (a YAML mapping).`);
  }
  return doc as Mapping;
}

/** The files a kustomization names outside `resources` (patches, generators' files, ...). */
function fileRefs(doc: Mapping): string[] {
  const refs: string[] = [];
  for (const field of FILE_LIST_FIELDS) refs.push(...strings(doc[field]).filter(isPathLike));
  for (const field of PATH_ITEM_FIELDS) {
    for (const item of mappings(doc[field])) refs.push(...strings([item.path]));
  }
  for (const field of GENERATOR_FIELDS) {
    for (const gen of mappings(doc[field])) {
      refs.push(...strings(gen.files).map((f) => f.slice(f.indexOf("=") + 1)));
      refs.push(...strings(gen.envs), ...strings([gen.env]));
    }
  }
  const openapi = doc.openapi;
  if (typeof openapi === "object" && openapi !== null) refs.push(...strings([(openapi as Mapping).path]));
  return refs;
}

/** Inline YAML (a patch, a generator) is not a path. */
function isPathLike(entry: string): boolean {
  return !entry.includes("\n") && !/^\s*[\w.-]+:\s/.test(entry);
}

/** A path a kustomization names, resolved in the repository, or a problem saying why it cannot be. */
async function resolveRef(
  repo: RepoSnapshot,
  where: { file: string; dir: string; field: string },
  ref: string,
): Promise<{ path: string; real: string }> {
  const { file, dir, field } = where;
  if (looksRemote(ref)) {
    throw new SourceProblem(
      `${file}: ${field} entry ${quote(ref)} is a remote resource; prenv builds only from this repository (no git or http fetches). Copy the base into the repository.`,
    );
  }
  const joined = joinRepo(dir, ref);
  if (ref.startsWith("/") || !inside(joined, "")) {
    throw new SourceProblem(
      `${file}: ${field} entry ${quote(ref)} is outside the repository; bases and files must be in it.`,
    );
  }
  const real = await repo.resolve(joined, field === "files" ? dir : "");
  if (!repo.entry(real)) {
    throw new SourceProblem(`${file}: ${field} entry ${quote(ref)} does not exist at commit ${repo.short}.`);
  }
  return { path: joined, real };
}

/** What kustomize would fetch: URLs, git and scp-like addresses, `host/org/repo` forms. */
function looksRemote(ref: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ||
    /^[a-z][a-z0-9+.-]*::/i.test(ref) ||
    /^[\w.-]+@[\w.-]+:/.test(ref) ||
    /^(github\.com|gitlab\.com|bitbucket\.org)\//i.test(ref) ||
    /[?&](ref|version|timeout|submodules)=/.test(ref)
  );
}

/**
 * The `kustomize build` run: a wrapper kustomization of prenv's around the overlay adds the
 * `prenv` ConfigMap (the variables, for envFrom or replacements) and the images override.
 */
export function kustomizeRun(
  source: KustomizeSource,
  opts: { files: Map<string, Uint8Array>; prenv: PrenvValues },
): ToolRun {
  const files = new Map(opts.files);
  const literals = Object.entries(opts.prenv)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${String(v)}`);
  const wrapper: Mapping = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: [`../${REPO_DIR}/${source.path.replace(/\/+$/, "")}`],
    configMapGenerator: [{ name: "prenv", literals, options: { disableNameSuffixHash: true } }],
  };
  if (opts.prenv.image && source.images.length > 0) {
    const image = splitImage(opts.prenv.image);
    wrapper.images = source.images.map((name) => ({ name, ...image }));
  }
  files.set("prenv/kustomization.yaml", Buffer.from(`${JSON.stringify(wrapper, null, 2)}\n`, "utf8"));
  const args = ["build", "prenv", "--load-restrictor", "LoadRestrictionsRootOnly"];
  return { tool: "kustomize", args, files };
}

/** `ghcr.io/acme/web:abc` → newName + newTag; `...@sha256:…` → newName + digest. */
export function splitImage(ref: string): { newName: string; newTag?: string; digest?: string } {
  const at = ref.indexOf("@");
  if (at !== -1) return { newName: ref.slice(0, at), digest: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) return { newName: ref.slice(0, colon), newTag: ref.slice(colon + 1) };
  return { newName: ref };
}

/** Kustomize's error, with paths made relative to the repository. */
export function kustomizeProblem(stderr: string): string {
  const message = errorLines(stderr).replaceAll(`${REPO_DIR}/`, "").replaceAll("prenv/", "");
  return `kustomize build failed: ${message}`;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v !== "") : [];
}

function mappings(value: unknown): Mapping[] {
  return Array.isArray(value)
    ? value.filter((v): v is Mapping => typeof v === "object" && v !== null && !Array.isArray(v))
    : [];
}
