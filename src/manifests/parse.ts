// A pull request's manifests are untrusted input. This turns the files into Kubernetes objects
// that are safe to hand to a server-side apply as the tenant, or explains every reason not to.
//
// Defence in depth, not the last line: the apply impersonates the tenant ServiceAccount, so the
// namespace's RBAC and Pod Security Admission still decide. The job here is to bound the work
// (sizes, counts, aliases, nesting), to refuse early what would only fail later or reach outside
// the preview, and to say so in words a developer can act on.

import { CONFIG_FILE } from "../config/schema.js";
import {
  asManifestError,
  describe,
  excerpt,
  formatBytes,
  internalError,
  limitError,
  ManifestError,
} from "./errors.js";
import { identify, listItems } from "./identify.js";
import type { KubeObject } from "./objects.js";
import { isClusterScoped, policyFindings } from "./policy.js";
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from "./limits.js";
import { isManifestFile, renderManifest, resolveTemplateVars, type TemplateVars } from "./template.js";
import { isMapping, type Mapping } from "./values.js";
import { parseYaml } from "./yaml.js";

/** At most this many errors are returned; the rest are counted in `omitted`. */
export const MAX_ERRORS = 50;

export interface ParseOptions {
  /** The preview's namespace. */
  namespace: string;
  /** Labels put on every object; they win over the tenant's labels of the same key. */
  labels: Record<string, string>;
  isolation: "namespace" | "vcluster";
  limits?: Partial<ManifestLimits>;
  vars: TemplateVars;
  /** The operator's IngressClass: the only one a preview's Ingress may name (it is set when absent). */
  ingressClass: string;
  /**
   * false: the files are a tool's output (helm, kustomize): every file is read as YAML, and none
   * goes through Handlebars (a `{{` in them is data). Default true.
   */
  templating?: boolean;
}

/** An accepted object and the file it came from (for messages about it later, e.g. a failed apply). */
export interface TenantObject {
  file: string;
  object: KubeObject;
}

export type ParseResult =
  | {
      ok: true;
      objects: TenantObject[];
      /** Files that were not read because they are not `.yaml`/`.yml`. */
      ignored: string[];
    }
  | {
      ok: false;
      /** The first {@link MAX_ERRORS} problems, in file order. */
      errors: ManifestError[];
      /** How many more problems were found but not returned. */
      omitted: number;
    };

/** Written by the API server; meaningless (or refused by server-side apply) in a manifest. */
const SERVER_METADATA = [
  "managedFields",
  "resourceVersion",
  "uid",
  "creationTimestamp",
  "generation",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

class Errors {
  readonly list: ManifestError[] = [];
  count = 0;

  add(error: ManifestError): void {
    this.count += 1;
    if (this.list.length < MAX_ERRORS) this.list.push(error);
  }
}

interface Run {
  opts: ParseOptions;
  limits: ManifestLimits;
  errors: Errors;
  objects: TenantObject[];
  /** kind/namespace/name → where it was first defined */
  seen: Map<string, string>;
  objectCount: number;
  /** Set once a limit makes further work pointless. */
  stopped: boolean;
}

/**
 * Renders, parses and checks a pull request's manifest files. Never throws: every problem in
 * every file is returned (up to {@link MAX_ERRORS}), each naming its file and object.
 *
 * Accepted objects get `opts.labels` merged into their labels (prenv's win) and lose server-written
 * metadata and `status`; in `namespace` isolation their namespace is set to `opts.namespace`.
 * Only `.yaml`/`.yml` files are read; others are listed in `ignored`.
 */
export function parseTenantManifests(
  files: { path: string; content: string }[],
  opts: ParseOptions,
): ParseResult {
  const run: Run = {
    opts,
    limits: { ...DEFAULT_MANIFEST_LIMITS, ...definedOnly(opts.limits ?? {}) },
    errors: new Errors(),
    objects: [],
    seen: new Map(),
    objectCount: 0,
    stopped: false,
  };
  const ignored: string[] = [];
  try {
    const manifests: { path: string; content: string }[] = [];
    for (const f of files) {
      if (opts.templating === false || isManifestFile(f.path)) manifests.push(f);
      else ignored.push(f.path);
    }
    readAll(run, manifests);
  } catch (err) {
    run.errors.add(internalError("(manifest files)", err));
  }
  if (run.errors.count > 0) {
    return { ok: false, errors: run.errors.list, omitted: run.errors.count - run.errors.list.length };
  }
  return { ok: true, objects: run.objects, ignored };
}

function readAll(run: Run, manifests: { path: string; content: string }[]): void {
  const { limits, errors } = run;
  if (manifests.length > limits.maxFiles) {
    errors.add(
      limitError(
        manifests[limits.maxFiles]!.path,
        `There are ${manifests.length} manifest files; prenv reads at most ${limits.maxFiles}.`,
        "Put several objects in one file (separated by ---) or point deploy.path at a smaller directory.",
      ),
    );
    return;
  }
  const totalBytes = manifests.reduce((sum, f) => sum + byteLength(f.content), 0);
  if (totalBytes > limits.maxTotalBytes) {
    errors.add(
      limitError(
        manifests[0]!.path,
        `The manifest files add up to ${formatBytes(totalBytes)}; the limit is ${formatBytes(limits.maxTotalBytes)} in all.`,
        "Preview manifests should describe the app, not carry data: move large content into the image or a volume.",
      ),
    );
    return;
  }
  try {
    // Once here, to report a bad deploy.image once rather than for every file that renders it.
    if (run.opts.templating !== false) resolveTemplateVars(run.opts.vars);
  } catch (err) {
    errors.add(asManifestError(`${CONFIG_FILE} (deploy.image)`, err));
    return;
  }
  let renderedBytes = 0;
  for (const file of manifests) {
    if (run.stopped) return;
    try {
      renderedBytes += readFile(run, file, run.opts.vars);
    } catch (err) {
      errors.add(internalError(file.path, err));
    }
    if (renderedBytes > limits.maxTotalBytes) {
      errors.add(
        limitError(
          file.path,
          `After templating, the manifests add up to more than ${formatBytes(limits.maxTotalBytes)}.`,
          "Reduce what the templates generate.",
        ),
      );
      return;
    }
  }
}

/** Reads one file; returns its size after templating. */
function readFile(run: Run, file: { path: string; content: string }, vars: TemplateVars): number {
  const { limits, errors } = run;
  const bytes = byteLength(file.content);
  if (bytes > limits.maxFileBytes) {
    errors.add(
      limitError(
        file.path,
        `The file is ${formatBytes(bytes)}; the limit is ${formatBytes(limits.maxFileBytes)} per file.`,
        "Split it into several files.",
      ),
    );
    return 0;
  }
  let text = file.content;
  try {
    if (run.opts.templating !== false) {
      text = renderManifest(file.path, file.content, vars, {
        maxBytes: limits.maxFileBytes,
        maxDepth: limits.maxDepth,
      });
    }
  } catch (err) {
    errors.add(asManifestError(file.path, err));
    return 0;
  }
  const reader = { file: file.path, limits, report: (e: ManifestError) => errors.add(e) };
  for (const doc of parseYaml(reader, text)) {
    if (run.stopped) break;
    addDocument(run, file.path, doc.line, doc.value);
  }
  return byteLength(text);
}

/** One YAML document: an object, or a `List` of them. */
function addDocument(run: Run, file: string, line: number, value: unknown): void {
  if (!isMapping(value)) {
    run.errors.add(
      new ManifestError({
        code: "INVALID_OBJECT",
        file,
        line,
        problem: `This YAML document is ${describe(value)}, not a Kubernetes object.`,
        fix: "Each document must be a mapping with apiVersion, kind and metadata.name; separate objects with a line containing only ---.",
      }),
    );
    return;
  }
  const pending: { value: unknown; where: string }[] = [{ value, where: "" }];
  for (let next = pending.shift(); next !== undefined && !run.stopped; next = pending.shift()) {
    const { value: item, where } = next;
    const items = isMapping(item) ? listItems(item) : undefined;
    if (items) {
      const kind = String((item as Mapping).kind);
      items.forEach((member, i) => pending.push({ value: member, where: `${where}${kind} item ${i + 1}` }));
    } else {
      addObject(run, { file, line, where }, item);
    }
  }
}

/** One object, from `at.file` line `at.line` (`at.where`: which List item, if any). */
function addObject(run: Run, at: { file: string; line: number; where: string }, value: unknown): void {
  const { file, line, where } = at;
  run.objectCount += 1;
  if (run.objectCount > run.limits.maxObjects) {
    run.errors.add(
      limitError(
        file,
        `The manifests define more than ${run.limits.maxObjects} objects; that is the limit for one preview.`,
        "Deploy only what the preview needs.",
        line,
      ),
    );
    run.stopped = true;
    return;
  }
  const identity = identify(value);
  if ("finding" in identity) {
    const object = where || undefined;
    run.errors.add(new ManifestError({ file, line, ...(object ? { object } : {}), ...identity.finding }));
    return;
  }
  const obj = identity.object;
  const label = `${excerptName(obj.kind)}/${excerptName(obj.metadata.name)}`;
  const findings = policyFindings(obj, run.opts);
  for (const f of findings) run.errors.add(new ManifestError({ file, line, object: label, ...f }));
  if (findings.length > 0) return;

  const key = `${obj.kind}/${effectiveNamespace(obj, run.opts)}/${obj.metadata.name}`;
  const first = run.seen.get(key);
  if (first !== undefined) {
    run.errors.add(
      new ManifestError({
        code: "DUPLICATE",
        file,
        line,
        object: label,
        problem: `This object is defined twice: ${first} defines the same kind, namespace and name.`,
        fix: "Remove one of them or give them different names.",
      }),
    );
    return;
  }
  run.seen.set(key, `${file} line ${line}`);
  run.objects.push({ file, object: normalise(obj, run.opts) });
}

/** The namespace an object lands in, for duplicate detection. */
function effectiveNamespace(obj: KubeObject, opts: ParseOptions): string {
  if (opts.isolation === "namespace") return opts.namespace;
  if (isClusterScoped(obj.kind)) return "";
  return obj.metadata.namespace || "default";
}

function normalise(obj: KubeObject, opts: ParseOptions): KubeObject {
  const metadata = { ...obj.metadata };
  for (const field of SERVER_METADATA) delete metadata[field];
  if (opts.isolation === "namespace") metadata.namespace = opts.namespace;
  metadata.labels = { ...(metadata.labels ?? {}), ...opts.labels };
  const result: KubeObject = { ...obj, metadata };
  if (obj.kind === "Ingress" && isMapping(obj.spec) && obj.spec.ingressClassName === undefined) {
    result.spec = { ...obj.spec, ingressClassName: opts.ingressClass };
  }
  delete result.status;
  return result;
}

function excerptName(value: string): string {
  return excerpt(value).slice(1, -1);
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function definedOnly<T extends object>(values: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
