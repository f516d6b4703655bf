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
import { blockDepth, checkTemplate, messageOf, syntaxError } from "./template-check.js";

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
  const output = render({ file, source }, resolved, VARIABLE_NAMES, {
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
  const rendered = render(
    { file: `${CONFIG_FILE} (deploy.image)`, source: image },
    rest,
    IMAGE_VARIABLE_NAMES,
    {
      maxDepth: DEFAULT_MAX_BLOCK_DEPTH,
      maxBytes: 1024,
    },
  );
  return { ...vars, image: rendered };
}

/**
 * A text value from the repo config (e.g. a Helm `set` value) with the template variables filled in,
 * as for deploy.image (every variable but `image`). Errors name `where`.
 */
export function renderConfigValue(where: string, text: string, vars: TemplateVars): string {
  if (!text.includes("{{")) return text;
  const rest: TemplateVars = { ...vars, image: undefined };
  return render({ file: where, source: text }, rest, IMAGE_VARIABLE_NAMES, {
    maxDepth: DEFAULT_MAX_BLOCK_DEPTH,
    maxBytes: 1024,
  });
}

/** Checks and renders `template.source`, named `template.file` in errors. */
function render(
  template: { file: string; source: string },
  vars: TemplateVars,
  allowed: ReadonlySet<string>,
  limits: { maxDepth: number; maxBytes: number },
): string {
  const { file, source } = template;
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

function tooLarge(file: string, what: string, maxBytes: number): ManifestError {
  return new ManifestError({
    code: "LIMIT",
    file,
    problem: `The file ${what}; the limit is ${formatBytes(maxBytes)} per file.`,
    fix: "Split it into several files.",
  });
}
