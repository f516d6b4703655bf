// Finding and reading a repository's `.github/prenv.yml`, as GitHub Apps built on Probot do (the
// repository's file on its default branch, else the organisation's `.github` repository; `_extends`
// pulls in a base), with two differences that matter for a tool that deploys code: `_extends` and
// the organisation fallback never leave the repository's owner, and the YAML is read strictly
// (duplicate keys, aliases, nesting and size are limited and reported with their line).
import { isMap, isScalar, parseDocument, type YAMLError } from "yaml";
import { parseRepoConfig, type ConfigProblem } from "./parse.js";
import { echo } from "./fields.js";
import { CONFIG_FILE, type RepoConfig } from "./schema.js";

/** Reads one file from a repository's default branch; null when the repository or file is absent. */
export interface ConfigSource {
  read(owner: string, repo: string, path: string): Promise<string | null>;
}

export type ConfigResult =
  { kind: "missing" } | { kind: "invalid"; problems: ConfigProblem[] } | { kind: "ok"; config: RepoConfig };

/** Limits on what is read: a config file is small; anything else is a mistake or an attack. */
export const CONFIG_LIMITS = { maxBytes: 64 * 1024, maxAliases: 10, maxDepth: 16, maxExtends: 3 };

/** Keys that would reach an object's prototype in some YAML or merge implementations. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const NAME = "[A-Za-z0-9][A-Za-z0-9._-]{0,99}";
const EXTENDS_RE = new RegExp(`^(?:(${NAME})/)?(${NAME}|\\.github)(?::([^\\s:]{1,255}))?$`);

interface Target {
  owner: string;
  repo: string;
  path: string;
}

/**
 * The repository's settings: its own file, or the organisation's `.github` repository's, merged over
 * what `_extends` names (objects merge key by key, lists and values replace). An empty file opts in
 * with every default.
 */
export async function loadRepoConfig(
  source: ConfigSource,
  owner: string,
  repo: string,
): Promise<ConfigResult> {
  let file: Target = { owner, repo, path: CONFIG_FILE };
  let text = await source.read(owner, repo, CONFIG_FILE);
  if (text === null && repo.toLowerCase() !== ".github") {
    file = { owner, repo: ".github", path: CONFIG_FILE };
    text = await source.read(owner, ".github", CONFIG_FILE);
  }
  if (text === null) return { kind: "missing" };
  const layers: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (let depth = 0; ; depth += 1) {
    const where = label(file, owner, repo);
    seen.add(key(file));
    const read = readYaml(text, where);
    if (!read.ok) return { kind: "invalid", problems: read.problems };
    layers.unshift(read.value);
    const base = read.value._extends;
    if (base === undefined) break;
    const next = extendsTarget(base, owner, where);
    if ("problem" in next) return { kind: "invalid", problems: [next.problem] };
    if (seen.has(key(next))) {
      return invalid(
        where,
        `_extends names ${label(next, owner, repo)}, which is already part of this configuration (a loop)`,
        "Remove the _extends line that points back.",
      );
    }
    if (depth + 1 > CONFIG_LIMITS.maxExtends) {
      return invalid(
        where,
        `_extends goes more than ${CONFIG_LIMITS.maxExtends} files deep`,
        "Point _extends directly at the file that holds the shared settings.",
      );
    }
    text = await source.read(next.owner, next.repo, next.path);
    if (text === null) {
      return invalid(
        where,
        `_extends names ${label(next, owner, repo)}, which does not exist or which prenv cannot read (it must be a file on the default branch of a repository where prenv is installed)`,
        "Fix the repository or path in _extends, install prenv on that repository, or remove _extends.",
      );
    }
    file = next;
  }
  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => merge(acc, layer), {});
  const parsed = parseRepoConfig(merged, label(file, owner, repo));
  return parsed.ok ? { kind: "ok", config: parsed.config } : { kind: "invalid", problems: parsed.problems };
}

function key(t: Target): string {
  return `${t.owner}/${t.repo}:${t.path}`.toLowerCase();
}

/** How a file is named in messages: the path alone in the repository itself. */
function label(t: Target, owner: string, repo: string): string {
  if (t.owner.toLowerCase() === owner.toLowerCase() && t.repo.toLowerCase() === repo.toLowerCase())
    return t.path;
  return `${t.owner}/${t.repo}:${t.path}`;
}

function invalid(file: string, message: string, fix: string): ConfigResult {
  return { kind: "invalid", problems: [{ path: `${file} _extends`, message, fix }] };
}

/** Where `_extends` points; only repositories of the same owner are followed. */
function extendsTarget(value: unknown, owner: string, file: string): Target | { problem: ConfigProblem } {
  const fix =
    "Write the name of a repository of the same owner, optionally with a path: e.g. `_extends: .github` or `_extends: shared-config:.github/prenv.yml`.";
  const match = typeof value === "string" ? EXTENDS_RE.exec(value.trim()) : null;
  if (!match) {
    return { problem: { path: `${file} _extends`, message: "_extends is not a repository name", fix } };
  }
  const [, other, repo, path] = match;
  if (other !== undefined && other.toLowerCase() !== owner.toLowerCase()) {
    return {
      problem: {
        path: `${file} _extends`,
        message: `_extends names a repository of another owner ('${other}'); prenv only follows _extends within ${owner}, so that nobody outside it decides what is deployed here`,
        fix: `Copy the settings into this repository, or into a repository of ${owner} and point _extends there.`,
      },
    };
  }
  if (path !== undefined && (path.startsWith("/") || path.split("/").includes(".."))) {
    return {
      problem: { path: `${file} _extends`, message: "_extends has a path outside the repository", fix },
    };
  }
  return { owner, repo: repo!, path: path ?? CONFIG_FILE };
}

type Read = { ok: true; value: Record<string, unknown> } | { ok: false; problems: ConfigProblem[] };

/** Strict YAML: one document, unique keys, few aliases, bounded nesting, no prototype keys. */
function readYaml(text: string, file: string): Read {
  const fail = (message: string, fix: string): Read => ({
    ok: false,
    problems: [{ path: file, message, fix }],
  });
  if (new TextEncoder().encode(text).length > CONFIG_LIMITS.maxBytes) {
    return fail(
      `the file is larger than ${CONFIG_LIMITS.maxBytes / 1024} KiB`,
      "A prenv configuration is a few lines; remove what is not a prenv setting.",
    );
  }
  const doc = parseDocument(text, { uniqueKeys: true, strict: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.slice(0, 10).map((e) => yamlProblem(e, file, text)) };
  }
  const forbidden = forbiddenKeyLine(doc.contents, text);
  if (forbidden) {
    return fail(
      `line ${forbidden.line}: the key '${forbidden.key}' is not allowed`,
      "Remove it: it is not a prenv setting, and such keys are refused because they can change how programs read the file.",
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: CONFIG_LIMITS.maxAliases });
  } catch (err) {
    if (err instanceof ReferenceError) {
      return fail(
        `the file uses YAML aliases (*name) more than ${CONFIG_LIMITS.maxAliases} times`,
        "Write the values out instead of repeating them with aliases.",
      );
    }
    return fail("the file could not be read as YAML", "Check it with a YAML linter.");
  }
  if (value === null || value === undefined) return { ok: true, value: {} };
  if (depthOf(value) > CONFIG_LIMITS.maxDepth) {
    return fail(
      `the settings are nested more than ${CONFIG_LIMITS.maxDepth} levels deep`,
      "A prenv configuration needs at most three levels; remove the deeper values.",
    );
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    // Let the schema describe what the file holds instead of a mapping.
    const parsed = parseRepoConfig(value, file);
    return { ok: false, problems: parsed.ok ? [] : parsed.problems };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

const YAML_CAUSES: Record<string, string> = {
  DUPLICATE_KEY: "a key appears twice in the same mapping",
  TAB_AS_INDENT: "a tab is used for indentation",
  BAD_INDENT: "the indentation is wrong",
  MULTIPLE_DOCS: "the file holds more than one YAML document (---)",
  BLOCK_AS_IMPLICIT_KEY: "a key is missing its ':' or a value spans lines where it cannot",
  MISSING_CHAR: "a closing bracket, brace or quote is missing",
  UNEXPECTED_TOKEN: "something is where YAML does not expect it",
  BAD_ALIAS: "an alias (*name) refers to no anchor",
};

function yamlProblem(e: YAMLError, file: string, text: string): ConfigProblem {
  const line = e.linePos?.[0]?.line;
  const cause = YAML_CAUSES[e.code] ?? e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  const content = line ? text.split(/\r?\n/)[line - 1]?.trim() : undefined;
  return {
    path: line ? `${file} line ${line}` : file,
    message: `invalid YAML: ${cause}${content ? ` (${echo(content)})` : ""}`,
    fix:
      e.code === "DUPLICATE_KEY"
        ? "Keep one of the two and delete the other."
        : "Fix the YAML on that line (a linter such as yamllint shows it too).",
  };
}

/** The first mapping key, at any depth, that is a prototype key, with its line. */
function forbiddenKeyLine(node: unknown, text: string): { key: string; line: number } | null {
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const current = stack.pop();
    if (isMap(current)) {
      for (const pair of current.items) {
        const k = isScalar(pair.key) ? pair.key.value : undefined;
        if (typeof k === "string" && FORBIDDEN_KEYS.has(k)) {
          const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
          return { key: k, line: text.slice(0, offset).split("\n").length };
        }
        stack.push(pair.value);
      }
    } else if (current && typeof current === "object" && "items" in current && Array.isArray(current.items)) {
      stack.push(...(current.items as unknown[]));
    }
  }
  return null;
}

function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    max = Math.max(max, depth);
    if (max > CONFIG_LIMITS.maxDepth) return max;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return max;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `over` on top of `base`: mappings merge key by key, everything else replaces. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = Object.hasOwn(out, k) ? out[k] : undefined;
    out[k] = isPlain(b) && isPlain(v) ? merge(b, v) : v;
  }
  return out;
}
