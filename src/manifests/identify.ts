// Identifying objects: every YAML document must be a Kubernetes object (apiVersion, kind,
// metadata.name, each well formed), or a List of them.
import type { KubeObject } from "./objects.js";
import { describe, excerpt, type ManifestErrorCode } from "./errors.js";
import { isMapping, type Mapping } from "./values.js";

const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const API_VERSION_RE = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const KIND_RE = /^[A-Za-z][A-Za-z0-9]*$/;

/** A problem with one object, before the file, line and object name are attached. */
export interface Finding {
  code: ManifestErrorCode;
  problem: string;
  fix?: string;
}

/** Checks the fields every object needs; on success the value is typed as a KubeObject. */
export function identify(value: unknown): { object: KubeObject } | { finding: Finding } {
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

/** The items of `kind: List` (or any `FooList` with an items array), as kubectl flattens them. */
export function listItems(value: Mapping): unknown[] | undefined {
  const kind = value.kind;
  if (typeof kind !== "string" || !kind.endsWith("List") || !Array.isArray(value.items)) return undefined;
  return value.items as unknown[];
}

function isDnsSubdomain(value: unknown): value is string {
  return typeof value === "string" && value.length <= 253 && DNS_SUBDOMAIN_RE.test(value);
}
