// A pull request's manifests are untrusted input. This turns the files into Kubernetes objects
// that are safe to hand to a server-side apply as the tenant, or explains every reason not to.
//
// Defence in depth, not the last line: the apply impersonates the tenant ServiceAccount, so the
// namespace's RBAC and Pod Security Admission still decide. The job here is to bound the work
// (sizes, counts, aliases, nesting), to refuse early what would only fail later or reach outside
// the preview, and to say so in words a developer can act on.
import {
  Composer,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  type CST,
  type Document,
  type Tags,
} from "yaml";
import { CONFIG_FILE } from "../config/schema.js";
import type { KubeObject } from "./objects.js";
import { describe, excerpt, formatBytes, ManifestError, type ManifestErrorCode } from "./errors.js";
import {
  DEFAULT_MAX_BLOCK_DEPTH,
  DEFAULT_MAX_FILE_BYTES,
  isManifestFile,
  renderManifest,
  resolveTemplateVars,
  type TemplateVars,
} from "./template.js";

export interface ManifestLimits {
  /** Largest file, before and after templating. */
  maxFileBytes: number;
  /** All manifest files together, before and after templating. */
  maxTotalBytes: number;
  /** Number of `.yaml`/`.yml` files. */
  maxFiles: number;
  /** Objects after flattening `List`s. */
  maxObjects: number;
  /** YAML alias expansions per document (yaml's `maxAliasCount`). */
  maxAliasCount: number;
  /** Nesting of YAML collections and of template blocks. */
  maxDepth: number;
}

export const DEFAULT_MANIFEST_LIMITS: Readonly<ManifestLimits> = Object.freeze({
  maxFileBytes: DEFAULT_MAX_FILE_BYTES,
  maxTotalBytes: 1024 * 1024,
  maxFiles: 100,
  maxObjects: 200,
  maxAliasCount: 20,
  maxDepth: DEFAULT_MAX_BLOCK_DEPTH,
});

/** At most this many errors are returned; the rest are counted in `omitted`. */
export const MAX_ERRORS = 50;
/** YAML syntax errors reported per file: later ones are usually echoes of the first. */
const MAX_YAML_ERRORS_PER_FILE = 5;

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
}

/** Service accounts prenv gives an environment; the PR's pods may not run as them or change them. */
export const RESERVED_SERVICE_ACCOUNTS: readonly string[] = Object.freeze(["prenv-tenant", "vc-vcluster"]);

/**
 * Annotation prefixes an Ingress of a preview may carry. Everything else is refused: controller
 * annotations (ingress-nginx server-alias or snippets, Traefik router rules, ALB conditions, ...) can
 * route other hosts or run configuration, and what each controller honours cannot be known here.
 */
export const INGRESS_ANNOTATION_PREFIXES: readonly string[] = Object.freeze([
  "app.kubernetes.io/",
  "kubectl.kubernetes.io/",
  "prenv.dev/",
]);

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

/**
 * Kinds that are not namespaced in Kubernetes (core and common built-in API groups). In
 * `isolation: namespace` a manifest cannot create any of these; in `vcluster` they go to the
 * virtual cluster. Custom cluster-scoped kinds not listed here are stopped by the tenant's RBAC.
 */
export const CLUSTER_SCOPED_KINDS: readonly string[] = Object.freeze([
  "APIService",
  "CertificateSigningRequest",
  "ClusterRole",
  "ClusterRoleBinding",
  "ClusterTrustBundle",
  "ComponentStatus",
  "CSIDriver",
  "CSINode",
  "CustomResourceDefinition",
  "DeviceClass",
  "FlowSchema",
  "IngressClass",
  "IPAddress",
  "MutatingAdmissionPolicy",
  "MutatingAdmissionPolicyBinding",
  "MutatingWebhookConfiguration",
  "Namespace",
  "Node",
  "PersistentVolume",
  "PodSecurityPolicy",
  "PriorityClass",
  "PriorityLevelConfiguration",
  "ResourceSlice",
  "RuntimeClass",
  "SelfSubjectAccessReview",
  "SelfSubjectReview",
  "SelfSubjectRulesReview",
  "ServiceCIDR",
  "StorageClass",
  "StorageVersion",
  "StorageVersionMigration",
  "SubjectAccessReview",
  "TokenReview",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "ValidatingWebhookConfiguration",
  "VolumeAttachment",
  "VolumeAttributesClass",
]);

/** Kinds prenv itself puts in every preview namespace (the guards); a tenant cannot replace them. */
export const PRENV_MANAGED_KINDS: readonly string[] = Object.freeze([
  "ResourceQuota",
  "LimitRange",
  "NetworkPolicy",
  "Role",
  "RoleBinding",
]);

const CLUSTER_SCOPED = new Set(CLUSTER_SCOPED_KINDS);
const MANAGED = new Set(PRENV_MANAGED_KINDS);

/** Where built-in workload kinds keep their pod spec. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ["spec"],
  PodTemplate: ["template", "spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  ReplicationController: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};
/** Where other kinds (Argo Rollout, Knative Service, KEDA ScaledJob, ...) usually keep one. */
const CUSTOM_POD_SPEC_PATHS: readonly (readonly string[])[] = [
  ["spec", "template", "spec"],
  ["spec", "jobTemplate", "spec", "template", "spec"],
];
const ALLOWED_CAPABILITIES = new Set(["NET_BIND_SERVICE"]);
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

// YAML 1.1, as kubectl reads manifests (`defaultMode: 0644` is octal, `<<` merges), minus the
// tags that would produce values Kubernetes objects cannot hold (dates, binary, sets, ordered
// maps, sexagesimal numbers); those scalars stay text, as kubectl leaves them.
const NON_JSON_TAGS = new Set(
  ["binary", "omap", "pairs", "set", "timestamp"].map((t) => `tag:yaml.org,2002:${t}`),
);
const YAML_OPTIONS = {
  version: "1.1",
  merge: true,
  // Checked by firstDuplicateKey instead: yaml's own check is quadratic in the size of a mapping.
  uniqueKeys: false,
  logLevel: "error",
  customTags: (tags: Tags): Tags =>
    tags.filter((t) => typeof t === "string" || (!NON_JSON_TAGS.has(t.tag) && t.format !== "TIME")),
} as const;

const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const API_VERSION_RE = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const KIND_RE = /^[A-Za-z][A-Za-z0-9]*$/;

type Mapping = Record<string, unknown>;

/** A problem with one object, before the file, line and object name are attached. */
interface Finding {
  code: ManifestErrorCode;
  problem: string;
  fix?: string;
}

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
      if (isManifestFile(f.path)) manifests.push(f);
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
    resolveTemplateVars(run.opts.vars);
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
  let text: string;
  try {
    text = renderManifest(file.path, file.content, vars, {
      maxBytes: limits.maxFileBytes,
      maxDepth: limits.maxDepth,
    });
  } catch (err) {
    errors.add(asManifestError(file.path, err));
    return 0;
  }
  for (const doc of parseYaml(run, file.path, text)) {
    if (run.stopped) break;
    addDocument(run, file.path, doc.line, doc.value);
  }
  return byteLength(text);
}

interface ParsedDoc {
  line: number;
  value: unknown;
}

function parseYaml(run: Run, file: string, text: string): ParsedDoc[] {
  const { limits, errors } = run;
  const lines = new LineCounter();
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  // The composer and toJS recurse once per nesting level: refuse deep input before they see it.
  const deep = firstTooDeep(tokens, limits.maxDepth);
  if (deep !== undefined) {
    errors.add(tooDeep(file, lines.linePos(deep).line, limits.maxDepth));
    return [];
  }
  const docs: ParsedDoc[] = [];
  let yamlErrors = 0;
  for (const doc of new Composer(YAML_OPTIONS).compose(tokens)) {
    const line = lines.linePos(docStart(doc)).line;
    const first = doc.errors[0];
    if (first) {
      yamlErrors += 1;
      if (yamlErrors <= MAX_YAML_ERRORS_PER_FILE) {
        errors.add(yamlError(file, lines.linePos(first.pos[0]).line, first));
      }
      continue;
    }
    const duplicate = firstDuplicateKey(doc);
    if (duplicate) {
      const at = lines.linePos(duplicate.offset).line;
      errors.add(
        new ManifestError({
          code: "YAML",
          file,
          line: at,
          problem: `The key ${excerpt(duplicate.key)} appears twice in the same mapping.`,
          fix: "Remove one of the two; YAML does not merge them.",
        }),
      );
      continue;
    }
    const value = toValue(run, file, line, doc);
    if (value !== undefined && value !== null) docs.push({ line, value });
  }
  return docs;
}

function docStart(doc: Document.Parsed): number {
  return doc.contents?.range[0] ?? doc.range[0];
}

/** The document as plain JSON-like data, or undefined after reporting why not. */
function toValue(run: Run, file: string, line: number, doc: Document.Parsed): unknown {
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: run.limits.maxAliasCount });
  } catch (err) {
    run.errors.add(aliasError(file, line, err, run.limits.maxAliasCount));
    return undefined;
  }
  try {
    return copyPlain(js, run.limits.maxDepth);
  } catch (err) {
    if (!(err instanceof TooDeep)) throw err;
    run.errors.add(tooDeep(file, line, run.limits.maxDepth));
    return undefined;
  }
}

/** Offset of the first collection nested deeper than `max`, walking the CST without recursion. */
function firstTooDeep(tokens: CST.Token[], max: number): number | undefined {
  const pending: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [token, depth] = next;
    if (token.type === "document") {
      if (token.value) pending.push([token.value, depth]);
    } else if ("items" in token) {
      if (depth + 1 > max) return token.offset;
      for (const item of token.items) {
        if ("key" in item && item.key) pending.push([item.key, depth + 1]);
        if (item.value) pending.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

/** The first key that repeats within a mapping (as text, since that is how objects are keyed). */
function firstDuplicateKey(doc: Document.Parsed): { key: string; offset: number } | undefined {
  const pending: unknown[] = [doc.contents];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (isSeq(node)) {
      pending.push(...node.items);
    } else if (isMap(node)) {
      const duplicate = duplicateKeyIn(node.items);
      if (duplicate) return duplicate;
      pending.push(...node.items.map((pair) => pair.value));
    }
  }
  return undefined;
}

function duplicateKeyIn(pairs: { key: unknown }[]): { key: string; offset: number } | undefined {
  const keys = new Set<string>();
  for (const { key } of pairs) {
    if (!isScalar(key) || key.value === "<<") continue;
    const text = String(key.value);
    if (keys.has(text)) return { key: text, offset: key.range?.[0] ?? 0 };
    keys.add(text);
  }
  return undefined;
}

class TooDeep extends Error {}

/**
 * A fresh copy made only of plain objects, arrays and scalars. Aliases in YAML make shared
 * sub-objects, and normalising one object must not change another. Keys such as `__proto__`
 * become ordinary own properties.
 */
function copyPlain(value: unknown, maxDepth: number, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= maxDepth) throw new TooDeep();
  if (Array.isArray(value)) return value.map((v: unknown) => copyPlain(v, maxDepth, depth + 1));
  const out: Mapping = {};
  for (const [key, v] of Object.entries(value)) {
    Object.defineProperty(out, key, {
      value: copyPlain(v, maxDepth, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
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
      addObject(run, file, line, item, where);
    }
  }
}

/** The items of `kind: List` (or any `FooList` with an items array), as kubectl flattens them. */
function listItems(value: Mapping): unknown[] | undefined {
  const kind = value.kind;
  if (typeof kind !== "string" || !kind.endsWith("List") || !Array.isArray(value.items)) return undefined;
  return value.items as unknown[];
}

function addObject(run: Run, file: string, line: number, value: unknown, where: string): void {
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
  const findings = [
    ...metadataFindings(obj.metadata),
    ...isolationFindings(obj, run.opts),
    ...hostAccessFindings(obj),
    ...routingFindings(obj, run.opts),
    ...identityFindings(obj),
  ];
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

/** Checks the fields every object needs; on success the value is typed as a KubeObject. */
function identify(value: unknown): { object: KubeObject } | { finding: Finding } {
  if (!isMapping(value)) {
    return {
      finding: {
        code: "INVALID_OBJECT",
        problem: `This list item is ${describe(value)}, not a Kubernetes object.`,
      },
    };
  }
  const problems = [
    apiVersionProblem(value.apiVersion),
    kindProblem(value.kind),
    nameProblem(value.metadata),
  ];
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length === 0) return { object: value as KubeObject };
  return {
    finding: {
      code: "INVALID_OBJECT",
      problem: `This is not a valid Kubernetes object: ${found.join("; ")}.`,
      fix: "Every object needs apiVersion, kind and metadata.name.",
    },
  };
}

function apiVersionProblem(apiVersion: unknown): string | undefined {
  if (typeof apiVersion === "string" && apiVersion.length <= 317 && API_VERSION_RE.test(apiVersion))
    return undefined;
  if (apiVersion === undefined) return "apiVersion is missing";
  if (typeof apiVersion !== "string") return `apiVersion is ${describe(apiVersion)}, not text`;
  return `apiVersion ${excerpt(apiVersion)} is not an API version such as v1 or apps/v1`;
}

function kindProblem(kind: unknown): string | undefined {
  if (typeof kind === "string" && kind.length <= 100 && KIND_RE.test(kind)) return undefined;
  if (kind === undefined) return "kind is missing";
  if (typeof kind !== "string") return `kind is ${describe(kind)}, not text`;
  return `kind ${excerpt(kind)} is not a kind such as Deployment`;
}

function nameProblem(metadata: unknown): string | undefined {
  if (!isMapping(metadata)) {
    return metadata === undefined
      ? "metadata is missing"
      : `metadata is ${describe(metadata)}, not a mapping`;
  }
  const name = metadata.name;
  if (isDnsSubdomain(name)) return undefined;
  if (name === undefined) {
    return metadata.generateName === undefined
      ? "metadata.name is missing"
      : "metadata.name is missing (generateName cannot be used: prenv applies objects by name)";
  }
  if (typeof name !== "string") return `metadata.name is ${describe(name)}, not text (quote it)`;
  return (
    `metadata.name ${excerpt(name)} is not a valid name: use at most 253 lowercase letters, digits, ` +
    "'-' and '.', starting and ending with a letter or digit"
  );
}

function metadataFindings(metadata: Mapping): Finding[] {
  const findings: Finding[] = [];
  if (metadata.namespace !== undefined && typeof metadata.namespace !== "string") {
    findings.push({
      code: "INVALID_OBJECT",
      problem: `metadata.namespace is ${describe(metadata.namespace)}, not text.`,
      fix: "Remove metadata.namespace; prenv sets it.",
    });
  }
  for (const field of ["labels", "annotations"] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isMapping(map)) {
      findings.push({
        code: "INVALID_OBJECT",
        problem: `metadata.${field} is ${describe(map)}, not a mapping.`,
        fix: `Write metadata.${field} as key: value pairs.`,
      });
      continue;
    }
    const bad = Object.entries(map).find(([, v]) => typeof v !== "string");
    if (bad) {
      findings.push({
        code: "INVALID_OBJECT",
        problem: `metadata.${field} value for ${excerpt(bad[0])} is ${describe(bad[1])}; ${field} values must be text.`,
        fix: 'Quote the value, e.g. "true" or "8080".',
      });
    }
  }
  return findings;
}

/** What `isolation: namespace` refuses: other scopes, prenv's own guards, other namespaces. */
function isolationFindings(obj: KubeObject, opts: ParseOptions): Finding[] {
  if (opts.isolation !== "namespace") return [];
  const kind = obj.kind;
  if (CLUSTER_SCOPED.has(kind)) {
    return [
      {
        code: "CLUSTER_SCOPED",
        problem: `${kind} is a cluster-scoped kind; with isolation: namespace a preview can only create objects inside its own namespace.`,
        fix: `Remove it, or set isolation: vcluster in ${CONFIG_FILE} to give previews a virtual cluster where cluster-scoped objects are allowed.`,
      },
    ];
  }
  if (MANAGED.has(kind)) {
    return [
      {
        code: "MANAGED_BY_PRENV",
        problem:
          `prenv manages the ${kind} of every preview namespace (with the ResourceQuota, LimitRange, ` +
          "default-deny NetworkPolicy and the tenant's Role and RoleBinding), so manifests cannot add or change one.",
        fix: "Remove it; ask the prenv operators if the defaults do not fit, or use isolation: vcluster to manage your own.",
      },
    ];
  }
  const ns = obj.metadata.namespace;
  // An empty namespace means "unset" to Kubernetes too.
  if (typeof ns === "string" && ns !== "" && ns !== opts.namespace) {
    return [
      {
        code: "OTHER_NAMESPACE",
        problem: `metadata.namespace is ${excerpt(ns)}, but a preview can only create objects in its own namespace ${opts.namespace}.`,
        fix: "Remove metadata.namespace (prenv sets it) or use {{namespace}}.",
      },
    ];
  }
  return [];
}

/** Pod specs that reach into the node. Checked in both isolation modes: a vcluster's pods run on the host. */
function hostAccessFindings(obj: KubeObject): Finding[] {
  return podSpecs(obj).flatMap(({ path, spec }) => podFindings(path, spec));
}

function podSpecs(obj: KubeObject): { path: string; spec: Mapping }[] {
  const known = POD_SPEC_PATHS[obj.kind];
  const candidates = known ? [known] : CUSTOM_POD_SPEC_PATHS;
  const specs: { path: string; spec: Mapping }[] = [];
  for (const path of candidates) {
    const spec = dig(obj, path);
    if (isMapping(spec) && (known || Array.isArray(spec.containers)))
      specs.push({ path: path.join("."), spec });
  }
  return specs;
}

function podFindings(path: string, spec: Mapping): Finding[] {
  const findings: Finding[] = [];
  for (const flag of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (isSet(spec[flag])) {
      findings.push({
        code: "HOST_ACCESS",
        problem: `${path}.${flag} is set, which would share the node's ${flag.slice(4)} namespace with the preview.`,
        fix: `Remove ${flag}; previews must not reach into the node.`,
      });
    }
  }
  for (const volume of mappings(spec.volumes)) {
    if (volume.hostPath !== undefined) {
      findings.push({
        code: "HOST_ACCESS",
        problem: `Volume ${excerpt(volume.name)} in ${path} is a hostPath volume, which would expose the node's file system.`,
        fix: "Use an emptyDir for scratch space or a PersistentVolumeClaim for data that must persist.",
      });
    }
  }
  for (const field of ["initContainers", "containers", "ephemeralContainers"] as const) {
    for (const container of mappings(spec[field])) findings.push(...containerFindings(path, container));
  }
  return findings;
}

function containerFindings(path: string, container: Mapping): Finding[] {
  const findings: Finding[] = [];
  const name = `Container ${excerpt(container.name)} in ${path}`;
  const sc = isMapping(container.securityContext) ? container.securityContext : {};
  if (isSet(sc.privileged)) {
    findings.push({
      code: "HOST_ACCESS",
      problem: `${name} is privileged, which gives it full control of the node.`,
      fix: "Remove securityContext.privileged; previews run under the restricted Pod Security profile.",
    });
  }
  const added =
    isMapping(sc.capabilities) && Array.isArray(sc.capabilities.add)
      ? (sc.capabilities.add as unknown[])
      : [];
  const refused = added.filter(
    (c) => typeof c !== "string" || !ALLOWED_CAPABILITIES.has(c.toUpperCase().replace(/^CAP_/, "")),
  );
  if (refused.length > 0) {
    findings.push({
      code: "HOST_ACCESS",
      problem: `${name} adds the capabilities ${refused.slice(0, 5).map(excerpt).join(", ")}${refused.length > 5 ? ", ..." : ""}; only NET_BIND_SERVICE may be added.`,
      fix: "Remove them from securityContext.capabilities.add.",
    });
  }
  for (const port of mappings(container.ports)) {
    if (isSet(port.hostPort)) {
      findings.push({
        code: "HOST_ACCESS",
        problem: `${name} binds host port ${excerpt(String(port.hostPort))} on the node.`,
        fix: "Remove hostPort and reach the container through a Service.",
      });
    }
  }
  return findings;
}

/** Services and Ingresses that would send traffic somewhere other than the preview's own pods. */
function routingFindings(obj: KubeObject, opts: ParseOptions): Finding[] {
  const spec = isMapping(obj.spec) ? obj.spec : {};
  const findings: Finding[] = [];
  if (obj.kind === "Service" && group(obj.apiVersion) === "") {
    if (spec.type === "ExternalName") {
      findings.push({
        code: "ROUTING",
        problem:
          "A Service of type ExternalName sends traffic for its name to any host, which other workloads of the cluster may then reach through it.",
        fix: "Call the external host directly from the app, or use a Service with a selector.",
      });
    }
    if (Array.isArray(spec.externalIPs) ? spec.externalIPs.length > 0 : spec.externalIPs !== undefined) {
      findings.push({
        code: "ROUTING",
        problem: "spec.externalIPs would make every node take traffic for those addresses (CVE-2020-8554).",
        fix: "Remove spec.externalIPs; the preview URL reaches the Service through prenv's routing.",
      });
    }
  }
  if (obj.kind === "Ingress" && group(obj.apiVersion) === "networking.k8s.io") {
    const className = spec.ingressClassName;
    if (className !== undefined && className !== opts.ingressClass) {
      findings.push({
        code: "ROUTING",
        problem: `spec.ingressClassName is ${typeof className === "string" ? excerpt(className) : describe(className)}; previews may only use this installation's class ${excerpt(opts.ingressClass)}.`,
        fix: "Remove spec.ingressClassName (prenv sets it).",
      });
    }
    const annotations = isMapping(obj.metadata.annotations) ? Object.keys(obj.metadata.annotations) : [];
    const foreign = annotations.filter(
      (k) => k.includes("/") && !INGRESS_ANNOTATION_PREFIXES.some((p) => k.startsWith(p)),
    );
    if (foreign.length > 0) {
      findings.push({
        code: "ROUTING",
        problem: `The annotations ${foreign.slice(0, 5).map(excerpt).join(", ")}${foreign.length > 5 ? ", ..." : ""} configure an ingress controller, which can route other hosts or run configuration on the shared controller.`,
        fix: "Remove them; a preview's Ingress may only name its host, paths and Services.",
      });
    }
  }
  return findings;
}

/** Pods that would run as, and objects that would change, the identities prenv gives the environment. */
function identityFindings(obj: KubeObject): Finding[] {
  if (obj.kind === "ServiceAccount" && group(obj.apiVersion) === "") {
    return RESERVED_SERVICE_ACCOUNTS.includes(obj.metadata.name)
      ? [
          {
            code: "IDENTITY",
            problem: `The service account ${obj.metadata.name} is prenv's own; manifests cannot create or change it.`,
            fix: "Give your app's service account another name.",
          },
        ]
      : [];
  }
  return podSpecs(obj).flatMap(({ path, spec }) => {
    const account = spec.serviceAccountName ?? spec.serviceAccount;
    return typeof account === "string" && RESERVED_SERVICE_ACCOUNTS.includes(account)
      ? [
          {
            code: "IDENTITY" as const,
            problem: `${path} runs as the service account ${account}, which holds prenv's rights in the namespace; its token would be mounted into your pods.`,
            fix: "Remove serviceAccountName, or use a service account of your own.",
          },
        ]
      : [];
  });
}

function group(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** The namespace an object lands in, for duplicate detection. */
function effectiveNamespace(obj: KubeObject, opts: ParseOptions): string {
  if (opts.isolation === "namespace") return opts.namespace;
  if (CLUSTER_SCOPED.has(obj.kind)) return "";
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

/**
 * A stable identity for an applied object, for pruning: `group/Kind/namespace/name`, with `core`
 * for the legacy group and an empty namespace for cluster-scoped objects. The API version is left
 * out on purpose: moving a manifest from `v1beta1` to `v1` does not make it another object.
 */
export function objectKey(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
  const slash = o.apiVersion.lastIndexOf("/");
  const group = slash === -1 ? "core" : o.apiVersion.slice(0, slash);
  return `${group}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

// ---------------------------------------------------------------------------------------------
// Errors

function limitError(file: string, problem: string, fix: string, line?: number): ManifestError {
  return new ManifestError({ code: "LIMIT", file, ...(line !== undefined ? { line } : {}), problem, fix });
}

function tooDeep(file: string, line: number, max: number): ManifestError {
  return new ManifestError({
    code: "TOO_DEEP",
    file,
    line,
    problem: `The YAML here is nested more than ${max} levels deep.`,
    fix: "Kubernetes objects are never this deep; check the indentation and brackets.",
  });
}

function yamlError(file: string, line: number, error: { code: string; message: string }): ManifestError {
  const fixes: Record<string, string> = {
    TAB_AS_INDENT: "Indent with spaces, not tabs.",
  };
  return new ManifestError({
    code: "YAML",
    file,
    line,
    problem: `The YAML is not valid: ${excerpt(error.message)}.`,
    fix: fixes[error.code] ?? "Check indentation, quoting and brackets on and just before this line.",
  });
}

function aliasError(file: string, line: number, err: unknown, max: number): ManifestError {
  const message = err instanceof Error ? err.message : String(err);
  if (/resource exhaustion|disabled/i.test(message)) {
    return new ManifestError({
      code: "ALIASES",
      file,
      line,
      problem: `This YAML document expands aliases (*name) too many times; the limit is ${max} per document.`,
      fix: "Write the repeated parts out instead of using anchors and aliases.",
    });
  }
  return new ManifestError({
    code: "YAML",
    file,
    line,
    problem: `The YAML is not valid: ${excerpt(message)}.`,
    fix: "Define each anchor (&name) before the aliases (*name) that use it.",
  });
}

function asManifestError(file: string, err: unknown): ManifestError {
  return err instanceof ManifestError ? err : internalError(file, err);
}

/** The cause is kept for the logs only; the message says nothing about it. */
function internalError(file: string, cause: unknown): ManifestError {
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

// ---------------------------------------------------------------------------------------------
// Helpers

function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function mappings(value: unknown): Mapping[] {
  return Array.isArray(value) ? value.filter(isMapping) : [];
}

/** A flag or field that asks for something: anything but absent, null, false or 0. */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== 0;
}

function dig(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isMapping(current)) return undefined;
    current = Object.hasOwn(current, key) ? current[key] : undefined;
  }
  return current;
}

function isDnsSubdomain(value: unknown): value is string {
  return typeof value === "string" && value.length <= 253 && DNS_SUBDOMAIN_RE.test(value);
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
