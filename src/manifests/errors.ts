// Problems with a pull request's manifests. Every message is written for the developer who reads it
// in the PR comment: which file (and line), which object, what is wrong, how to fix it. Messages
// quote the tenant's own text only through `excerpt`, so a hostile file cannot flood a comment.

/** What kind of problem a manifest has; stable, for callers and tests (the message is for humans). */
export type ManifestErrorCode =
  /** A size or count limit was exceeded (file bytes, total bytes, files, objects). */
  | "LIMIT"
  /** Nested more deeply than the depth limit. */
  | "TOO_DEEP"
  /** Too many YAML alias expansions (a "billion laughs" document). */
  | "ALIASES"
  /** The Handlebars template is malformed or uses something outside the allow-list. */
  | "TEMPLATE"
  /** The YAML does not parse. */
  | "YAML"
  /** A document is not a Kubernetes object: not a mapping, or apiVersion/kind/metadata missing or malformed. */
  | "INVALID_OBJECT"
  /** A cluster-scoped kind in `namespace` isolation. */
  | "CLUSTER_SCOPED"
  /** A kind whose objects prenv itself manages in the namespace (quota, limits, policies, RBAC). */
  | "MANAGED_BY_PRENV"
  /** `metadata.namespace` names a namespace other than the preview's. */
  | "OTHER_NAMESPACE"
  /** A pod asks for access to the node: hostPath, privileged, host namespaces, capabilities, hostPort. */
  | "HOST_ACCESS"
  /** Traffic routed outside the preview: ExternalName or externalIPs Services, foreign Ingress classes or controller annotations. */
  | "ROUTING"
  /** A pod or object that would take over an identity prenv gives the environment (prenv-tenant, the vcluster's). */
  | "IDENTITY"
  /** Two objects with the same kind, namespace and name. */
  | "DUPLICATE"
  /** Something failed that should not have; the message says so without internal detail. */
  | "INTERNAL";

export interface ManifestProblem {
  code: ManifestErrorCode;
  /** Path of the file in the repository (or the config file for `deploy.image`). */
  file: string;
  /** 1-based line in the file (after templating), when known. */
  line?: number;
  /** `Kind/name` of the object, when known. */
  object?: string;
  /** What is wrong, one or two sentences. */
  problem: string;
  /** How to fix it. */
  fix?: string;
}

export class ManifestError extends Error {
  readonly code: ManifestErrorCode;
  readonly file: string;
  readonly line?: number;
  /** `Kind/name`, when the problem belongs to one object. */
  readonly object?: string;
  readonly problem: string;
  readonly fix?: string;

  /** `options.cause` is for logs: it never appears in the message. */
  constructor(p: ManifestProblem, options?: { cause?: unknown }) {
    super(formatProblem(p), options);
    this.name = "ManifestError";
    this.code = p.code;
    this.file = p.file;
    if (p.line !== undefined) this.line = p.line;
    if (p.object !== undefined) this.object = p.object;
    this.problem = p.problem;
    if (p.fix !== undefined) this.fix = p.fix;
  }
}

/** `deploy/web.yaml line 12, Deployment/web: <problem> <fix>` */
function formatProblem(p: ManifestProblem): string {
  const where = [p.line === undefined ? p.file : `${p.file} line ${p.line}`, p.object]
    .filter(Boolean)
    .join(", ");
  return `${where}: ${p.problem}${p.fix ? ` ${p.fix}` : ""}`;
}

/** The most characters of the tenant's own text that a message may quote. */
export const MAX_EXCERPT = 80;

/**
 * Quotes text from a tenant's file for a message: at most {@link MAX_EXCERPT} characters, on one
 * line (control characters escaped), in double quotes. Anything that is not a string is described
 * by its type instead of being quoted.
 */
export function excerpt(value: unknown): string {
  if (typeof value !== "string") return describe(value);
  const chars = Array.from(value);
  const cut = chars.length > MAX_EXCERPT ? `${chars.slice(0, MAX_EXCERPT - 1).join("")}…` : value;
  return JSON.stringify(cut).replace(/`/g, "'");
}

/** "a number", "a list", "a mapping", "null", ... for "kind must be text, not a number". */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return "text";
    case "number":
    case "bigint":
      return "a number";
    case "boolean":
      return `the boolean ${String(value)}`;
    case "object":
      return "a mapping";
    default:
      return `a ${typeof value}`;
  }
}

/** `KiB`/`MiB` for limit messages. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${round(bytes / 1024)} KiB`;
  return `${round(bytes / (1024 * 1024))} MiB`;
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function limitError(file: string, problem: string, fix: string, line?: number): ManifestError {
  return new ManifestError({ code: "LIMIT", file, ...(line !== undefined ? { line } : {}), problem, fix });
}

export function asManifestError(file: string, err: unknown): ManifestError {
  return err instanceof ManifestError ? err : internalError(file, err);
}

/** The cause is kept for the logs only; the message says nothing about it. */
export function internalError(file: string, cause: unknown): ManifestError {
  return new ManifestError(
    {
      code: "INTERNAL",
      file,
      problem: "prenv could not check this file because of an internal error.",
      fix: "Try /env redeploy; if it persists, tell the prenv operators.",
    },
    { cause },
  );
}
