// The check a tenant's template passes before anything is compiled: every construct on the parsed
// template must be on the allow-list (see template.ts), and block nesting is bounded by a linear
// scan before the Handlebars parser sees the text. Errors name the file and line and say what to write.
import { CONFIG_FILE } from "../config/schema.js";
import { excerpt, ManifestError } from "./errors.js";

/** The only block helpers: conditionals on a variable. */
const BLOCK_HELPERS: ReadonlySet<string> = new Set(["if", "unless"]);

type Node = hbs.AST.Node;

/** Which variables a template may use, and whether `image` has a value. */
export interface Scope {
  allowed: ReadonlySet<string>;
  imageSet: boolean;
}

/**
 * Walks the template (iteratively: the nesting is the tenant's) and throws at the first construct
 * off the list. `{{image}}` without deploy.image is an error unless it sits under `{{#if image}}`
 * (or the else of `{{#unless image}}`), where it can never render.
 */
export function checkTemplate(file: string, ast: hbs.AST.Program, scope: Scope): number {
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

export function syntaxError(file: string, err: unknown): ManifestError {
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

function lineOf(node: Node): number | undefined {
  return node.loc?.start.line;
}

export function messageOf(err: unknown): string {
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
