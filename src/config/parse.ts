import type { z } from "zod";
import { echo, fixHints } from "./fields.js";
import { CONFIG_FILE, repoConfigSchema, type RepoConfig } from "./schema.js";

/** One thing wrong with a repo config file, ready to show to the repository's owner. */
export interface ConfigProblem {
  /** Where: a dotted path such as `deploy.path` or `filters.branches[1]`, or `(root)` for the file. */
  path: string;
  /** What is wrong. */
  message: string;
  /** How to fix it, in words a repo owner can act on. */
  fix: string;
}

export type ParseResult = { ok: true; config: RepoConfig } | { ok: false; problems: ConfigProblem[] };

const ROOT = "(root)";
const MAX_LISTED_PROBLEMS = 30;

/**
 * Validates the parsed YAML of a repo config file (whatever it holds) and applies defaults. Lists
 * every problem, not just the first. Never throws.
 *
 * @param file the file name used in messages (the config may come from an `_extends` base)
 */
export function parseRepoConfig(raw: unknown, file: string = CONFIG_FILE): ParseResult {
  try {
    // An empty file opts in with every default (see README, "Opting a repository in").
    if (raw === null || raw === undefined) raw = {};
    const result = repoConfigSchema.safeParse(raw, { error: describeIssue });
    if (result.success) return { ok: true, config: result.data };
    const problems = result.error.issues.flatMap((issue) => toProblems(issue, raw, file));
    return problems.length > 0 ? { ok: false, problems } : failure(unreadable(file));
  } catch {
    return failure(unreadable(file));
  }
}

/**
 * Markdown for a PR comment or check run: the file name, then one bullet per problem
 * (`` `path`: message. fix ``), at most 30 of them.
 */
export function formatProblems(file: string, problems: readonly ConfigProblem[]): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const lines = [`\`${codeSafe(file)}\` has ${count}:`, ""];
  for (const problem of problems.slice(0, MAX_LISTED_PROBLEMS)) {
    lines.push(`- \`${codeSafe(problem.path)}\`: ${sentence(problem.message)} ${problem.fix}`.trimEnd());
  }
  if (problems.length > MAX_LISTED_PROBLEMS) {
    lines.push(`- …and ${problems.length - MAX_LISTED_PROBLEMS} more.`);
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

function failure(problem: ConfigProblem): ParseResult {
  return { ok: false, problems: [problem] };
}

function unreadable(file: string): ConfigProblem {
  return {
    path: ROOT,
    message: `${file} could not be read as prenv settings`,
    fix: "Make the file a YAML mapping of settings, e.g. `isolation: namespace`.",
  };
}

function toProblems(issue: z.core.$ZodIssue, raw: unknown, file: string): ConfigProblem[] {
  const nodes = schemaNodesAt(issue.path);
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(nodes);
    return issue.keys.map((key) => unknownKey(issue.path, key, known));
  }
  if (issue.path.length === 0 && issue.code === "invalid_type") {
    return [
      {
        path: ROOT,
        message: `${file} must contain settings as \`key: value\` lines, but it contains ${echo(raw)}`,
        fix: "Make the file a YAML mapping of settings, e.g. `isolation: namespace`.",
      },
    ];
  }
  const custom = issue.code === "custom" ? (issue.params as { fix?: unknown } | undefined)?.fix : undefined;
  return [
    {
      path: formatPath(issue.path),
      message: issue.message,
      fix: typeof custom === "string" ? custom : (fixFor(nodes) ?? "See the prenv configuration reference."),
    },
  ];
}

/** Settings people write at the top level that live in a section. */
const MISPLACED: Readonly<Record<string, string>> = {
  branches: "filters.branches",
  labels: "filters.labels",
  paths: "filters.paths",
  drafts: "filters.drafts",
  path: "deploy.path",
  image: "deploy.image",
  waitForChecks: "deploy.waitForChecks",
  helm: "deploy.helm",
  kustomize: "deploy.kustomize",
  cpu: "resources.cpu",
  memory: "resources.memory",
  pods: "resources.pods",
  storage: "resources.storage",
  service: "url.service",
  port: "url.port",
  sleepAfter: "sleep.after",
  after: "sleep.after",
  schedule: "sleep.schedule",
  timezone: "sleep.schedule.timezone",
};

function unknownKey(parent: readonly PropertyKey[], key: string, known: readonly string[]): ConfigProblem {
  const path = formatPath([...parent, key]);
  const home = parent.length === 0 && Object.hasOwn(MISPLACED, key) ? MISPLACED[key] : undefined;
  if (home !== undefined) {
    const [section, ...rest] = home.split(".");
    return {
      path,
      message: `unknown key ${echo(key)} at the top level — did you mean '${home}'?`,
      fix: `Move it under ${section}: e.g. \`${section}: { ${rest.join(".")}: ... }\`.`,
    };
  }
  const suggestion = closest(key, known);
  if (suggestion !== undefined) {
    return {
      path,
      message: `unknown key ${echo(key)} — did you mean '${suggestion}'?`,
      fix: `Rename it to '${suggestion}'.`,
    };
  }
  return {
    path,
    message: `unknown key ${echo(key)}`,
    fix: known.length > 0 ? `Remove it; the keys allowed here are ${known.join(", ")}.` : "Remove it.",
  };
}

/** Message for each issue zod raises by itself; the schema's own messages take precedence. */
const describeIssue: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? "is required"
        : `must be ${kindName(issue.expected)}, not ${echo(issue.input)}`;
    case "invalid_union":
      return issue.input === undefined ? "is required" : `${echo(issue.input)} is not a valid value`;
    case "invalid_value":
      return `${echo(issue.input)} is not allowed; use one of ${issue.values.map((v) => echo(v)).join(", ")}`;
    case "too_small": {
      const bound = issue.inclusive === false ? "more than" : "at least";
      return `${limitSubject(issue.origin, issue.input)} must be ${bound} ${limitAmount(issue.origin, issue.minimum)}`;
    }
    case "too_big": {
      const bound = issue.inclusive === false ? "less than" : "at most";
      return `${limitSubject(issue.origin, issue.input)} must be ${bound} ${limitAmount(issue.origin, issue.maximum)}`;
    }
    case "not_multiple_of":
      return issue.divisor === 1
        ? `must be a whole number, not ${echo(issue.input)}`
        : `${echo(issue.input)} must be a multiple of ${issue.divisor}`;
    case "invalid_format":
      return `${echo(issue.input)} has the wrong format`;
    default:
      return `${echo(issue.input)} is not valid`;
  }
};

function kindName(expected: string): string {
  const names: Record<string, string> = {
    string: "text",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "a mapping (key: value pairs)",
  };
  return Object.hasOwn(names, expected) ? names[expected]! : `a ${expected}`;
}

function limitSubject(origin: string, input: unknown): string {
  if (origin === "string") return "the text";
  if (origin === "array") return "the list";
  return echo(input);
}

function limitAmount(origin: string, amount: number | bigint): string {
  if (origin === "string") return amount === 1 ? "1 character" : `${amount} characters`;
  if (origin === "array") return amount === 1 ? "1 item" : `${amount} items`;
  return String(amount);
}

// ---------------------------------------------------------------------------------------------
// Finding the schema node an issue is about (for its fix hint and, for unknown keys, its known keys)

type Node = z.core.$ZodType;
type Def = z.core.$ZodTypes["_zod"]["def"];

/** The schema nodes from the root down to `path`, including wrappers (default, optional, pipe). */
function schemaNodesAt(path: readonly PropertyKey[]): Node[] {
  const nodes: Node[] = [];
  let current: Node | undefined = repoConfigSchema;
  let depth = 0;
  while (current !== undefined && nodes.length < 64) {
    nodes.push(current);
    const def: Def = (current as z.core.$ZodTypes)._zod.def;
    if (def.type === "default" || def.type === "prefault" || def.type === "optional") {
      current = def.innerType;
    } else if (def.type === "pipe") {
      current = def.in;
    } else if (depth < path.length && def.type === "object") {
      const key = path[depth++];
      current = typeof key === "string" && Object.hasOwn(def.shape, key) ? def.shape[key] : undefined;
    } else if (depth < path.length && def.type === "array") {
      depth += 1;
      current = def.element;
    } else {
      current = undefined;
    }
  }
  return nodes;
}

function fixFor(nodes: readonly Node[]): string | undefined {
  for (let i = nodes.length - 1; i >= 0; i -= 1) {
    const hint = fixHints.get(nodes[i]!);
    if (hint) return hint.fix;
  }
  return undefined;
}

function knownKeys(nodes: readonly Node[]): string[] {
  for (let i = nodes.length - 1; i >= 0; i -= 1) {
    const def: Def = (nodes[i] as z.core.$ZodTypes)._zod.def;
    if (def.type === "object") return Object.keys(def.shape);
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Text helpers

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return ROOT;
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += `${text === "" ? "" : "."}${pathKey(segment)}`;
  }
  return text;
}

function pathKey(segment: string | symbol): string {
  const key = typeof segment === "string" ? segment : (segment.description ?? "?");
  const shown = echo(key).slice(1, -1); // without the quotes
  return /^[A-Za-z0-9_$-]+$/.test(key) ? shown : `'${shown}'`;
}

/** The known key closest to `key` (case-insensitive edit distance, transpositions count one), if close. */
function closest(key: string, known: readonly string[]): string | undefined {
  if (key.length > 40) return undefined;
  const wanted = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    if (candidate.startsWith("_")) continue; // do not steer people towards _extends
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = wanted.length <= 3 ? 1 : wanted.length <= 6 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i += 1) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j += 1) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      }
      row.push(value);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

function codeSafe(text: string): string {
  return text.replace(/`/g, "'").replace(/[\r\n]/g, " ");
}

function sentence(message: string): string {
  return /[.?!]$/.test(message) ? message : `${message}.`;
}
