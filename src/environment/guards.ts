// prenv's own objects for one environment, rendered from templates/ (never from the tenant repo):
// the namespace with its guards, and the preview Ingress.
import { createHash } from "node:crypto";
import { parseAllDocuments } from "yaml";
import type { RepoConfig } from "../config/schema.js";
import { compileTemplate, type TemplateFn } from "../templates/engine.js";
import { parseQuantity } from "./cost.js";
import { egressBlocks, type IpBlock } from "./egress.js";
import type { KubeObject } from "../manifests/objects.js";
import type { EnvironmentSettings, VclusterSettings } from "./settings.js";

export {
  TENANT_SERVICE_ACCOUNT,
  VCLUSTER_KUBECONFIG_SECRET,
  VCLUSTER_MANAGED_BY,
  VCLUSTER_NAME,
  VCLUSTER_SERVICE_ACCOUNT,
  VCLUSTER_WORKLOAD_SERVICE_ACCOUNT,
} from "./accounts.js";
import {
  TENANT_SERVICE_ACCOUNT,
  VCLUSTER_NAME,
  VCLUSTER_SERVICE_ACCOUNT,
  VCLUSTER_WORKLOAD_SERVICE_ACCOUNT,
} from "./accounts.js";

export interface NamespaceVars {
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  podSecurity: "restricted" | "baseline";
  quota: { cpu: string; memory: string; pods: string; storage: string };
  limits: EnvironmentSettings["containerDefaults"];
  ingressNamespace: string;
  tenant: string;
  /** The virtual cluster's service account (vcluster mode), or null. */
  vcluster: string | null;
  vclusterName: string;
  podSecurityVersion: string;
  objects: Record<keyof EnvironmentSettings["objectQuota"], string>;
  egress: { dnsNamespace: string; dnsLabels: Record<string, string>; blocks: IpBlock[] };
  hostApi: string[];
}

export interface ImageParts {
  registry: string;
  repository: string;
  tag: string;
}

export interface VclusterVars {
  namespace: string;
  labels: Record<string, string>;
  name: string;
  workloadServiceAccount: string;
  image: string;
  kubernetesImage: string;
  config: string;
  configHash: string;
  persistence: string | null;
  cpu: string;
  memory: string;
}

export interface VclusterConfigVars {
  image: ImageParts;
  kubernetesImage: ImageParts;
  apiHost: string;
  podSecurity: "restricted" | "baseline";
  persistence: string | null;
  cpu: string;
  memory: string;
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

export interface RoutesVars {
  mode: "gateway" | "ingress";
  namespace: string;
  labels: Record<string, string>;
  gateway: { namespace: string; name: string };
  preview: { host: string; service: string; port: number; path: string } | null;
  api: { host: string; service: string; port: number } | null;
  ingressClass: string;
  apiAnnotations: Record<string, string> | null;
}

export interface TemplateSources {
  namespace: string;
  ingress: string;
  routes: string;
  vcluster: string;
  vclusterConfig: string;
  comment: string;
}

export interface GuardTemplates {
  namespace: TemplateFn<NamespaceVars>;
  ingress: TemplateFn<IngressVars>;
  routes: TemplateFn<RoutesVars>;
  vcluster: TemplateFn<VclusterVars>;
  vclusterConfig: TemplateFn<VclusterConfigVars>;
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
      "vcluster",
      "vclusterName",
      "podSecurityVersion",
      "objects",
      "egress",
      "hostApi",
    ]),
    vcluster: compileTemplate<VclusterVars>("vcluster.yaml.hbs", src.vcluster, [
      "namespace",
      "labels",
      "name",
      "workloadServiceAccount",
      "image",
      "kubernetesImage",
      "config",
      "configHash",
      "persistence",
      "cpu",
      "memory",
    ]),
    vclusterConfig: compileTemplate<VclusterConfigVars>("vcluster-config.yaml.hbs", src.vclusterConfig, [
      "image",
      "kubernetesImage",
      "apiHost",
      "podSecurity",
      "persistence",
      "cpu",
      "memory",
    ]),
    routes: compileTemplate<RoutesVars>("routes.yaml.hbs", src.routes, [
      "mode",
      "namespace",
      "labels",
      "gateway",
      "preview",
      "api",
      "ingressClass",
      "apiAnnotations",
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
  const vcluster = args.config.isolation === "vcluster";
  const { settings } = args;
  if (!settings.podSecurityVersion) {
    throw new Error(
      "podSecurityVersion is not resolved: the composition root must ask the host (withHostSettings)",
    );
  }
  return yamlObjects(
    t.namespace({
      namespace: args.namespace,
      labels: args.labels,
      annotations: args.annotations,
      podSecurity: args.config.podSecurity,
      quota: vcluster
        ? withControlPlane(resources, args.settings.vcluster)
        : {
            cpu: resources.cpu,
            memory: resources.memory,
            pods: String(resources.pods),
            storage: resources.storage,
          },
      limits: args.settings.containerDefaults,
      ingressNamespace: args.settings.ingressNamespace,
      tenant: TENANT_SERVICE_ACCOUNT,
      vcluster: vcluster ? VCLUSTER_SERVICE_ACCOUNT : null,
      vclusterName: VCLUSTER_NAME,
      podSecurityVersion: settings.podSecurityVersion,
      objects: {
        configMaps: String(settings.objectQuota.configMaps),
        secrets: String(settings.objectQuota.secrets),
        services: String(settings.objectQuota.services),
        persistentVolumeClaims: String(settings.objectQuota.persistentVolumeClaims),
      },
      egress: {
        dnsNamespace: settings.dns.namespace,
        dnsLabels: settings.dns.podLabels,
        blocks: egressBlocks(args.config.egress.allow, settings.egressDeny),
      },
      hostApi: settings.hostApi,
    }),
    "templates/namespace.yaml.hbs",
  );
}

/**
 * The host quota of a virtual cluster: the repository's `resources` for its workloads, plus the
 * control plane's own CPU, memory, pod and volume, so the app gets what the repository asked for.
 */
export function withControlPlane(
  resources: RepoConfig["resources"],
  v: VclusterSettings,
): NamespaceVars["quota"] {
  const milli = (q: string) => Math.round(parseQuantity(q) * 1000);
  const mebi = (q: string) => Math.ceil(parseQuantity(q) / 2 ** 20);
  const storage = mebi(resources.storage) + (v.persistence ? mebi(v.persistence) : 0);
  return {
    cpu: `${milli(resources.cpu) + milli(v.cpu)}m`,
    memory: `${mebi(resources.memory) + mebi(v.memory)}Mi`,
    pods: String(resources.pods + 1),
    storage: `${storage}Mi`,
  };
}

/** `registry/repository:tag[@digest]` → its parts, as vcluster.yaml spells images. */
export function imageParts(ref: string): ImageParts {
  const [name = "", digest] = ref.split("@");
  const colon = name.lastIndexOf(":");
  const hasTag = colon > name.lastIndexOf("/");
  const path = hasTag ? name.slice(0, colon) : name;
  const tag = hasTag ? name.slice(colon + 1) : digest ? "" : "latest";
  const slash = path.indexOf("/");
  const first = slash === -1 ? "" : path.slice(0, slash);
  const isRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  return isRegistry
    ? { registry: first, repository: path.slice(slash + 1), tag }
    : { registry: "docker.io", repository: path, tag };
}

/** The virtual cluster's host-side objects (config, services, control plane), applied as the tenant. */
export function vclusterObjects(
  t: GuardTemplates,
  args: {
    namespace: string;
    labels: Record<string, string>;
    apiHost: string;
    config: RepoConfig;
    settings: EnvironmentSettings;
  },
): KubeObject[] {
  const v = args.settings.vcluster;
  const config = t.vclusterConfig({
    image: imageParts(v.image),
    kubernetesImage: imageParts(v.kubernetesImage),
    apiHost: args.apiHost,
    podSecurity: args.config.podSecurity,
    persistence: v.persistence,
    cpu: v.cpu,
    memory: v.memory,
  });
  yamlObjects(config, "templates/vcluster-config.yaml.hbs"); // a template bug throws here
  return yamlObjects(
    t.vcluster({
      namespace: args.namespace,
      labels: args.labels,
      name: VCLUSTER_NAME,
      workloadServiceAccount: VCLUSTER_WORKLOAD_SERVICE_ACCOUNT,
      image: v.image,
      kubernetesImage: v.kubernetesImage,
      config,
      configHash: createHash("sha256").update(config).digest("hex").slice(0, 16),
      persistence: v.persistence,
      cpu: v.cpu,
      memory: v.memory,
    }),
    "templates/vcluster.yaml.hbs",
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
