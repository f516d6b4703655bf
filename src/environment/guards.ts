// prenv's own objects for one environment, rendered from templates/ (never from the tenant repo):
// the namespace with its guards, and the preview Ingress.
import { parseAllDocuments } from "yaml";
import type { RepoConfig } from "../config/schema.js";
import { compileTemplate, type TemplateFn } from "../templates/engine.js";
import type { KubeObject } from "./ports.js";
import type { EnvironmentSettings } from "./settings.js";

export const TENANT_SERVICE_ACCOUNT = "prenv-tenant";

export interface NamespaceVars {
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  podSecurity: "restricted" | "baseline";
  quota: { cpu: string; memory: string; pods: string; storage: string };
  limits: EnvironmentSettings["containerDefaults"];
  ingressNamespace: string;
  tenant: string;
}

export interface IngressVars {
  namespace: string;
  labels: Record<string, string>;
  host: string;
  ingressClass: string;
  service: string;
  portNumber: number | null;
  portName: string | null;
  path: string;
}

export interface TemplateSources {
  namespace: string;
  ingress: string;
  comment: string;
}

export interface GuardTemplates {
  namespace: TemplateFn<NamespaceVars>;
  ingress: TemplateFn<IngressVars>;
}

export function compileGuardTemplates(src: TemplateSources): GuardTemplates {
  return {
    namespace: compileTemplate<NamespaceVars>("namespace.yaml.hbs", src.namespace, [
      "namespace",
      "labels",
      "annotations",
      "podSecurity",
      "quota",
      "limits",
      "ingressNamespace",
      "tenant",
    ]),
    ingress: compileTemplate<IngressVars>("ingress.yaml.hbs", src.ingress, [
      "namespace",
      "labels",
      "host",
      "ingressClass",
      "service",
      "portNumber",
      "portName",
      "path",
    ]),
  };
}

/** Parses rendered YAML of our own templates; a template bug is a programming error, so it throws. */
export function yamlObjects(text: string, origin: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors[0]?.message ?? "invalid YAML"}`);
    const obj = doc.toJS() as KubeObject | null;
    return obj ? [obj] : [];
  });
}

export function namespaceObjects(
  t: GuardTemplates,
  args: {
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    config: RepoConfig;
    settings: EnvironmentSettings;
  },
): KubeObject[] {
  const { resources } = args.config;
  return yamlObjects(
    t.namespace({
      namespace: args.namespace,
      labels: args.labels,
      annotations: args.annotations,
      podSecurity: args.config.podSecurity,
      quota: {
        cpu: resources.cpu,
        memory: resources.memory,
        pods: String(resources.pods),
        storage: resources.storage,
      },
      limits: args.settings.containerDefaults,
      ingressNamespace: args.settings.ingressNamespace,
      tenant: TENANT_SERVICE_ACCOUNT,
    }),
    "templates/namespace.yaml.hbs",
  );
}

export function ingressObject(
  t: GuardTemplates,
  args: {
    namespace: string;
    labels: Record<string, string>;
    host: string;
    config: RepoConfig;
    settings: EnvironmentSettings;
  },
): KubeObject | null {
  const url = args.config.url;
  if (!url) return null;
  const [obj] = yamlObjects(
    t.ingress({
      namespace: args.namespace,
      labels: args.labels,
      host: args.host,
      ingressClass: args.settings.ingressClass,
      service: url.service,
      portNumber: typeof url.port === "number" ? url.port : null,
      portName: typeof url.port === "string" ? url.port : null,
      path: url.path,
    }),
    "templates/ingress.yaml.hbs",
  );
  return obj ?? null;
}
