// Handlebars for prenv's OWN templates (templates/ in this repo: manifests of the namespace
// guards, the PR comment). Isolated instance, strict mode, one registry of helpers, and an
// allow-list of top-level variables per template. Tenant manifests use src/manifests/template.ts.
import Handlebars from "handlebars";

const hb = Handlebars.create();

/** JSON-encodes a value: a safe YAML scalar for any string, so values can never break the document. */
hb.registerHelper("json", (value: unknown) => new Handlebars.SafeString(JSON.stringify(value ?? null)));
hb.registerHelper("eq", (a: unknown, b: unknown) => a === b);
/** Joins strings: `(concat "vc-" name)`. The last argument is Handlebars' options object. */
hb.registerHelper("concat", (...args: unknown[]) => args.slice(0, -1).map((a) => String(a)).join(""));
/** Markdown-escapes untrusted text for a PR comment (no HTML, no mentions, no formatting). */
hb.registerHelper("md", (value: unknown) => new Handlebars.SafeString(escapeMarkdown(text(value))));
/** A fenced code block that the content cannot close early. */
hb.registerHelper("fence", (value: unknown) => new Handlebars.SafeString(fence(text(value))));

function text(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_{}[\]()#+!|~<>]/g, (c) => `\\${c}`)
    .replace(/@/g, "@\u200b")
    .replace(/\r?\n/g, " ");
}

export function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const bar = "`".repeat(longest + 1);
  return `${bar}text\n${text.replace(/\r/g, "")}\n${bar}`;
}

export type TemplateFn<V> = (vars: V) => string;

export function compileTemplate<V extends object>(
  name: string,
  source: string,
  allowed: readonly (keyof V & string)[],
  options: { escapeHtml?: boolean } = {},
): TemplateFn<V> {
  const fn = hb.compile(source, { strict: true, noEscape: !options.escapeHtml });
  return (vars: V) => {
    const unknown = Object.keys(vars).filter((k) => !(allowed as readonly string[]).includes(k));
    if (unknown.length > 0)
      throw new Error(`template ${name}: variables not on its allow-list: ${unknown.join(", ")}`);
    try {
      return fn(vars);
    } catch (err) {
      throw new Error(`template ${name}: ${(err as Error).message}`, { cause: err });
    }
  };
}
