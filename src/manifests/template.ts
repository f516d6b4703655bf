// Handlebars for a pull request's own manifest files: untrusted input.
//
// The template language a tenant gets is deliberately tiny, and checked on the parsed template
// before anything is compiled:
//   {{name}} / {{{name}}}                       a variable from TEMPLATE_VARIABLES
//   {{#if name}}…{{else}}…{{/if}}, {{#unless}}   conditionals on those variables
//   {{! comment }}                              comments
// Nothing else: no partials, no helpers (not even the built-in `lookup`, `log`, `each`, `with`),
// no `@data`, no `../` paths, no sub-expressions, no dotted paths such as `{{constructor.name}}`.
// Compilation then uses an isolated Handlebars instance in strict mode with prototype access
// disabled (Handlebars >= 4.6 default), as a second line of defence.
import Handlebars from "handlebars";
import { CONFIG_FILE } from "../config/schema.js";
import { excerpt, formatBytes, ManifestError } from "./errors.js";

/** Values a tenant manifest template can use. */
export interface TemplateVars {
  pr: number;
  sha: string;
  shortSha: string;
  branch: string;
  branchSlug: string;
  namespace: string;
  host: string;
  /** From `deploy.image` in the repo config; may itself use the other variables. */
  image?: string | undefined;
}

/**
 * The variables a tenant manifest may use, with what each holds (the README table is this list).
 *
 * | name         | value                                                                          |
 * | ------------ | ------------------------------------------------------------------------------ |
 * | `pr`         | pull request number, e.g. `42`                                                 |
 * | `sha`        | full SHA of the pull request's head commit                                     |
 * | `shortSha`   | first 7 characters of `sha`                                                    |
 * | `branch`     | head branch name as is (may contain `/`, `#`, quotes: prefer `branchSlug`)     |
 * | `branchSlug` | branch name as a DNS label, e.g. `feature/Login_Page` → `feature-login-page`   |
 * | `namespace`  | the preview's namespace                                                        |
 * | `host`       | the preview hostname, for Ingress rules                                        |
 * | `image`      | `deploy.image` from the repo config, rendered; an error to use when not set    |
 */
export const TEMPLATE_VARIABLES: Readonly<Record<keyof TemplateVars, string>> = Object.freeze({
  pr: "Pull request number, e.g. 42.",
  sha: "Full SHA of the pull request's head commit.",
  shortSha: "First 7 characters of the head commit SHA.",
  branch:
    "Head branch name exactly as on GitHub. It may contain '/', '#' or quotes, which can break YAML; " +
    "prefer branchSlug.",
  branchSlug: "Head branch name as a DNS label, e.g. feature/Login_Page -> feature-login-page.",
  namespace: "The preview environment's namespace.",
  host: "The preview hostname, for Ingress rules.",
  image:
    "deploy.image from the repository config, with its own template variables filled in. Using it when " +
    "deploy.image is not set is an error.",
});

const VARIABLE_NAMES: ReadonlySet<string> = new Set(Object.keys(TEMPLATE_VARIABLES));
const BLOCK_HELPERS: ReadonlySet<string> = new Set(["if", "unless"]);
/** deploy.image can use every variable but itself. */
const IMAGE_VARIABLE_NAMES: ReadonlySet<string> = new Set([...VARIABLE_NAMES].filter((n) => n !== "image"));

/** Default cap on a rendered file, in bytes (the same as the per-file input limit). */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024;
/** Default cap on `{{#if}}` nesting. */
export const DEFAULT_MAX_BLOCK_DEPTH = 50;
/**
 * Template expressions (`{{name}}`, blocks) per file. Compiling and rendering cost grows with their
 * number; a manifest needs a few dozen, and this bound keeps the worst file to a few milliseconds.
 */
export const MAX_TEMPLATE_EXPRESSIONS = 1000;

export interface RenderOptions {
  /** Largest allowed input and output, in bytes. */
  maxBytes?: number;
  /** Deepest allowed nesting of `{{#if}}`/`{{#unless}}` blocks. */
  maxDepth?: number;
}

const hb = Handlebars.create();
// Built-ins a tenant must not reach even if the AST check below were wrong: `log` writes to our
// logs, `lookup` resolves computed names, `each`/`with` change the context.
for (const name of ["log", "lookup", "each", "with"]) hb.unregisterHelper(name);

/** True for the files {@link renderManifest} treats as templates. */
export function isManifestFile(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/**
 * Renders one tenant manifest file. Files that are not `.yaml`/`.yml`, and files without `{{`,
 * are returned unchanged. Throws {@link ManifestError} (code `TEMPLATE` or `LIMIT`) naming the
 * file, the line and the offending variable or construct.
 */
export function renderManifest(
  file: string,
  source: string,
  vars: TemplateVars,
  options: RenderOptions = {},
): string {
  if (!isManifestFile(file)) return source;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const inputBytes = Buffer.byteLength(source, "utf8");
  if (inputBytes > maxBytes) throw tooLarge(file, `is ${formatBytes(inputBytes)}`, maxBytes);
  if (!source.includes("{{")) return source;

  const resolved = resolveTemplateVars(vars);
  const output = render(file, source, resolved, VARIABLE_NAMES, {
    maxDepth: options.maxDepth ?? DEFAULT_MAX_BLOCK_DEPTH,
    maxBytes,
  });
  const outputBytes = Buffer.byteLength(output, "utf8");
  if (outputBytes > maxBytes) throw tooLarge(file, `renders to ${formatBytes(outputBytes)}`, maxBytes);
  return output;
}

/**
 * Fills the other variables into `image` (`ghcr.io/acme/app:{{sha}}`). `image` cannot refer to
 * itself. Errors name the config file. Pass it the raw variables: rendering a result again would
 * read any `{{` that came from a variable (a branch name, say) as template syntax.
 */
export function resolveTemplateVars(vars: TemplateVars): TemplateVars {
  if (vars.image === undefined || !vars.image.includes("{{")) return vars;
  const { image, ...rest } = vars;
  const rendered = render(`${CONFIG_FILE} (deploy.image)`, image, rest, IMAGE_VARIABLE_NAMES, {
    maxDepth: DEFAULT_MAX_BLOCK_DEPTH,
    maxBytes: 1024,
  });
  return { ...vars, image: rendered };
}

/**
 * A text value from the repo config (e.g. a Helm `set` value) with the template variables filled in,
 * as for deploy.image (every variable but `image`). Errors name `where`.
 */
export function renderConfigValue(where: string, text: string, vars: TemplateVars): string {
  if (!text.includes("{{")) return text;
  const rest: TemplateVars = { ...vars, image: undefined };
  return render(where, text, rest, IMAGE_VARIABLE_NAMES, {
    maxDepth: DEFAULT_MAX_BLOCK_DEPTH,
    maxBytes: 1024,
  });
}

function render(
  file: string,
  source: string,
  vars: TemplateVars,
  allowed: ReadonlySet<string>,
  limits: { maxDepth: number; maxBytes: number },
): string {
  const { maxDepth, maxBytes } = limits;
  const depth = blockDepth(source);
  if (depth > maxDepth) {
    throw new ManifestError({
      code: "TOO_DEEP",
      file,
      problem: `Template blocks ({{#if}}/{{#unless}}) are nested ${depth} deep; the limit is ${maxDepth}.`,
      fix: "Flatten the conditions.",
    });
  }
  let ast: hbs.AST.Program;
  try {
    ast = hb.parseWithoutProcessing(source);
  } catch (err) {
    throw syntaxError(file, err);
  }
  const expressions = checkTemplate(file, ast, { allowed, imageSet: vars.image !== undefined });
  if (expressions > MAX_TEMPLATE_EXPRESSIONS) {
    throw new ManifestError({
      code: "LIMIT",
      file,
      problem: `The file has ${expressions} template expressions; the limit is ${MAX_TEMPLATE_EXPRESSIONS}.`,
      fix: "Use fewer {{variables}}: put repeated values in one ConfigMap and refer to it.",
    });
  }
  // What rendering can produce at most, checked before any work: every expression as the longest value.
  const longest = Math.max(0, ...Object.values(contextOf(vars)).map((v) => byteLength(String(v))));
  const bound = byteLength(source) + expressions * longest;
  if (bound > maxBytes) {
    const exact = byteLength(renderChecked(file, ast, vars, allowed));
    if (exact > maxBytes) throw tooLarge(file, `renders to ${formatBytes(exact)}`, maxBytes);
  }
  return renderChecked(file, ast, vars, allowed);
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

function renderChecked(
  file: string,
  ast: hbs.AST.Program,
  vars: TemplateVars,
  allowed: ReadonlySet<string>,
): string {
  // Compiling the AST we just parsed from `source` (and checked) is what `compile(source)` does.
  const template = hb.compile(ast, {
    strict: true,
    noEscape: true,
    data: false,
    knownHelpers: { if: true, unless: true },
    knownHelpersOnly: true,
  });
  try {
    return template(contextOf(vars));
  } catch (err) {
    // Unreachable after checkTemplate; kept so nothing escapes as a raw Handlebars error.
    throw new ManifestError({
      code: "TEMPLATE",
      file,
      problem: `The template could not be rendered: ${excerpt(messageOf(err))}.`,
      fix: `Use only these variables: ${[...allowed].join(", ")}.`,
    });
  }
}

/** Only the allow-listed variables that are set, on a plain object. */
function contextOf(vars: TemplateVars): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  for (const name of VARIABLE_NAMES) {
    const value = vars[name as keyof TemplateVars];
    if (value !== undefined) ctx[name] = value;
  }
  return ctx;
}

type Node = hbs.AST.Node;

/** Which variables a template may use, and whether `image` has a value. */
interface Scope {
  allowed: ReadonlySet<string>;
  imageSet: boolean;
}

/**
 * Walks the template (iteratively: the nesting is the tenant's) and throws at the first construct
 * off the list. `{{image}}` without deploy.image is an error unless it sits under `{{#if image}}`
 * (or the else of `{{#unless image}}`), where it can never render.
 */
function checkTemplate(file: string, ast: hbs.AST.Program, scope: Scope): number {
  let expressions = 0;
  const pending: [Node, boolean][] = [...ast.body].reverse().map((n) => [n, scope.imageSet]);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, imageSet] = next;
    expressions += isExpression(node) ? 1 : 0;
    switch (node.type) {
      case "ContentStatement":
      case "CommentStatement":
        break;
      case "MustacheStatement": {
        const m = node as hbs.AST.MustacheStatement;
        if (m.params.length > 0 || m.hash) throw notAllowed(file, m, "helpers are not available", scope);
        const name = variableName(file, m.path, scope);
        if (name === "image" && !imageSet) throw imageNotSet(file, m);
        break;
      }
      case "BlockStatement": {
        const b = node as hbs.AST.BlockStatement;
        const guard = checkBlock(file, b, scope);
        const inverse = b.inverse?.body ?? [];
        pending.push(
          ...[...inverse].reverse().map((n): [Node, boolean] => [n, imageSet || guard === "unless image"]),
        );
        pending.push(
          ...[...b.program.body].reverse().map((n): [Node, boolean] => [n, imageSet || guard === "if image"]),
        );
        break;
      }
      case "PartialStatement":
      case "PartialBlockStatement":
        throw notAllowed(file, node, "partials ({{> name}}) are not available", scope);
      default:
        throw notAllowed(file, node, "decorators and raw blocks are not available", scope);
    }
  }
  return expressions;
}

function isExpression(node: Node): boolean {
  return node.type === "MustacheStatement" || node.type === "BlockStatement";
}

/** `{{#if variable}}` / `{{#unless variable}}` and nothing else; returns e.g. `if image`. */
function checkBlock(file: string, b: hbs.AST.BlockStatement, scope: Scope): string {
  const helper = b.path.type === "PathExpression" ? b.path.original : "";
  if (!BLOCK_HELPERS.has(helper))
    throw notAllowed(file, b, `{{#${excerptName(helper)}}} is not available`, scope);
  if (b.params.length !== 1 || b.hash)
    throw notAllowed(file, b, `{{#${helper}}} takes exactly one variable`, scope);
  const name = variableName(file, b.params[0]!, scope);
  if (b.program.blockParams?.length) throw notAllowed(file, b, "block parameters are not available", scope);
  return `${helper} ${name}`;
}

/** The variable a path names, if it is a bare allowed name (`pr`, `this.pr`), else throw. */
function variableName(file: string, expr: Node, scope: Scope): string {
  if (expr.type !== "PathExpression") {
    throw notAllowed(file, expr, "only variables can be used here, not literals or sub-expressions", scope);
  }
  const path = expr as hbs.AST.PathExpression;
  const name = path.parts[0];
  if (
    path.data ||
    path.depth > 0 ||
    path.parts.length !== 1 ||
    name === undefined ||
    !scope.allowed.has(name)
  ) {
    throw new ManifestError({
      code: "TEMPLATE",
      file,
      line: lineOf(expr),
      problem: `Unknown template variable ${excerpt(path.original)}.`,
      fix: `Available variables: ${[...scope.allowed].join(", ")}. To write a literal "{{", escape it as "\\{{".`,
    });
  }
  return name;
}

function notAllowed(file: string, node: Node, what: string, scope: Scope): ManifestError {
  return new ManifestError({
    code: "TEMPLATE",
    file,
    line: lineOf(node),
    problem: `Unsupported template syntax: ${what}.`,
    fix: `Templates support {{variable}}, {{#if variable}}…{{else}}…{{/if}} and {{#unless}} with: ${[...scope.allowed].join(", ")}.`,
  });
}

function imageNotSet(file: string, node: Node): ManifestError {
  return new ManifestError({
    code: "TEMPLATE",
    file,
    line: lineOf(node),
    problem: "The template uses {{image}}, but the repository config does not set deploy.image.",
    fix: `Set deploy.image in ${CONFIG_FILE}, or guard the line with {{#if image}}…{{/if}}.`,
  });
}

/** Handlebars parser tokens, as a template author would call them. */
const TOKEN_NAMES: Readonly<Record<string, string>> = {
  INVALID: "character",
  INVERSE: "{{else}}",
  OPEN_INVERSE_CHAIN: "{{else}}",
  CLOSE: "}}",
  CLOSE_UNESCAPED: "}}}",
  OPEN_SEXPR: "'('",
  CLOSE_SEXPR: "')'",
  OPEN_ENDBLOCK: "{{/",
};

function syntaxError(file: string, err: unknown): ManifestError {
  // Handlebars: "Parse error on line 3:\n<up to ~40 chars of context>\n---^\nExpecting ..., got 'EOF'"
  // or "<message> - 3:5". Keep the line, the got-token and a short context; never the whole message.
  const message = messageOf(err);
  const lineMatch = /on line (\d+)/.exec(message) ?? / - (\d+):\d+$/.exec(message);
  const line = lineMatch ? Number(lineMatch[1]) : undefined;
  const got = /got '([A-Z_]+)'/.exec(message)?.[1];
  const context = message.split("\n")[1];
  const detail =
    got === "EOF"
      ? "the file ends inside a {{ }} tag or before a block is closed"
      : got
        ? `unexpected ${TOKEN_NAMES[got] ?? got.toLowerCase().replace(/_/g, " ")}${context ? ` near ${excerpt(context)}` : ""}`
        : excerpt(message.split("\n")[0]?.replace(/ - \d+:\d+$/, "") ?? "");
  return new ManifestError({
    code: "TEMPLATE",
    file,
    ...(line !== undefined ? { line } : {}),
    problem: `Template syntax error: ${detail}.`,
    fix: 'Check that every {{ has a matching }} and every {{#if}} a {{/if}}; write a literal "{{" as "\\{{".',
  });
}

function tooLarge(file: string, what: string, maxBytes: number): ManifestError {
  return new ManifestError({
    code: "LIMIT",
    file,
    problem: `The file ${what}; the limit is ${formatBytes(maxBytes)} per file.`,
    fix: "Split it into several files.",
  });
}

function lineOf(node: Node): number | undefined {
  return node.loc?.start.line;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function excerptName(name: string): string {
  return excerpt(name).slice(1, -1);
}

/**
 * Upper bound on block nesting, by a linear scan before the Handlebars parser (whose time grows
 * much faster than linearly with nesting) sees the text. Counts `{{#x` and `{{^x` as opening a
 * block, `{{else x` as one more level (an else-if chain nests), `{{/` as closing the innermost
 * block with its chain. Comments and escapes are not understood, so the bound errs on the high side.
 */
export function blockDepth(source: string): number {
  const open: number[] = []; // per open block: how many levels it holds (1 + else-if links)
  let depth = 0;
  let max = 0;
  for (let i = source.indexOf("{{"); i !== -1; i = source.indexOf("{{", i + 2)) {
    const tag = tagKind(source, i + 2);
    if (tag === "open") {
      open.push(1);
      depth += 1;
    } else if (tag === "chain" && open.length > 0) {
      open[open.length - 1]! += 1;
      depth += 1;
    } else if (tag === "close") {
      depth -= open.pop() ?? 0;
    }
    max = Math.max(max, depth);
  }
  return max;
}

/** What the tag starting at `from` (just after `{{`) does to nesting. */
function tagKind(source: string, from: number): "open" | "chain" | "close" | "other" {
  let i = skipSpace(source, from + (source[from] === "~" ? 1 : 0));
  const c = source[i];
  if (c === "#" || c === "/") return c === "#" ? "open" : "close";
  if (c === "^") {
    // `{{^}}` is a plain else; `{{^x}}` opens an inverted block.
    const next = source[skipSpace(source, i + 1)];
    return next === "}" || next === "~" ? "other" : "open";
  }
  if (!source.startsWith("else", i)) return "other";
  i += 4;
  const after = skipSpace(source, i);
  // `{{else}}` stays on the same level; `{{else if x}}` adds one.
  return after > i && source[after] !== "}" && source[after] !== "~" ? "chain" : "other";
}

function skipSpace(source: string, from: number): number {
  let i = from;
  while (i < source.length && /\s/.test(source[i]!)) i += 1;
  return i;
}
