// vcluster reads its configuration strictly and merges none of its chart's defaults into it, so
// the vcluster.yaml prenv writes (templates/vcluster-config.yaml.hbs) must be complete. Proven
// against the pinned release's own chart files, read from its Go module (see
// test/support/vcluster-release.ts): every setting of its values.yaml is there, the settings where
// prenv differs are exactly the ones listed here, and the result is valid against its
// values.schema.json (which, like vcluster's decoder, refuses unknown keys). And the host role of
// its syncer (deploy/rbac.yaml, prenv-vcluster) takes its rules from the same release's chart.
import { Ajv2020 } from "ajv/dist/2020.js";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { parseRepoConfig } from "../../../src/config/parse.js";
import { imageParts, vclusterObjects } from "../../../src/environment/guards.js";
import type { EnvironmentSettings } from "../../../src/environment/settings.js";
import { loadTemplates } from "../../../src/runtime/templates.js";
import { testSettings } from "../../support/settings.js";
import { releaseChart } from "../../support/vcluster-release.js";

const chart = releaseChart();
if (!chart.ok) console.warn(`vcluster configuration tests SKIPPED: ${chart.reason}`);

const t = loadTemplates();
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const API_HOST = "pr-12-acme-web-1a2b3c.api.preview.test";

function rendered(opts: { settings?: EnvironmentSettings; podSecurity?: "restricted" | "baseline" } = {}) {
  const settings = opts.settings ?? testSettings().environment;
  const repo = parseRepoConfig({ isolation: "vcluster", podSecurity: opts.podSecurity ?? "restricted" });
  if (!repo.ok) throw new Error("test config invalid");
  const objects = vclusterObjects(t.guards, {
    namespace: "pr-12-acme-web-1a2b3c",
    labels: {},
    apiHost: API_HOST,
    config: repo.config,
    settings,
  });
  const secret = objects.find((o) => o.kind === "Secret") as unknown as {
    stringData: { "config.yaml": string };
  };
  return parse(secret.stringData["config.yaml"]) as Record<string, unknown>;
}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === "object" && v !== null && !Array.isArray(v);

/** Leaf paths of a values tree: scalars, lists and empty maps are leaves. */
function leaves(tree: Tree, prefix: string[] = []): string[][] {
  return Object.entries(tree).flatMap(([k, v]) =>
    isTree(v) && Object.keys(v).length > 0 ? leaves(v, [...prefix, k]) : [[...prefix, k]],
  );
}

function at(tree: unknown, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (isTree(node) && key in node ? node[key] : MISSING), tree);
}

const MISSING = Symbol("missing");
const json = (v: unknown) => JSON.stringify(v);

/** Every place where `ours` is not the chart's default: path → our value (MISSING when left out). */
function differences(defaults: Tree, ours: Tree): Map<string, unknown> {
  const diff = new Map<string, unknown>();
  const defaultPaths = leaves(defaults);
  for (const path of defaultPaths) {
    const mine = at(ours, path);
    if (mine === MISSING || json(mine) !== json(at(defaults, path))) diff.set(path.join("."), mine);
  }
  const covered = new Set(defaultPaths.map((p) => p.join(".")));
  for (const path of leaves(ours)) {
    const underDefault = path.some((_, i) => covered.has(path.slice(0, i + 1).join(".")));
    if (!underDefault) diff.set(path.join("."), at(ours, path));
  }
  return diff;
}

describe.skipIf(!chart.ok)(`vcluster ${chart.ok ? chart.version : ""} configuration prenv writes`, () => {
  const defaults = chart.ok ? (parse(chart.read("values.yaml")) as Tree) : {};
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(
    JSON.parse(chart.ok ? chart.read("values.schema.json") : "{}") as object,
  );
  const settings = testSettings().environment;
  const image = imageParts(settings.vcluster.image);
  const kubernetes = imageParts(settings.vcluster.kubernetesImage);

  it("is tested with the release prenv deploys by default", () => {
    expect(chart.ok && chart.version).toBe(`v${image.tag}`);
  });

  it("has every setting of the release's chart values: none is left to a zero value", () => {
    const ours = rendered();
    const missing = leaves(defaults)
      .filter((p) => at(ours, p) === MISSING)
      .map((p) => p.join("."));
    // Only the control plane's ephemeral-storage, which prenv's pod does not set.
    expect(missing).toEqual([
      "controlPlane.statefulSet.resources.limits.ephemeral-storage",
      "controlPlane.statefulSet.resources.requests.ephemeral-storage",
    ]);
  });

  it("differs from the chart's defaults exactly where prenv chooses to", () => {
    const secure = { runAsNonRoot: true, runAsUser: 12345, runAsGroup: 12345 };
    expect(Object.fromEntries(differences(defaults, rendered()))).toEqual({
      "sync.toHost.ingresses.enabled": true,
      "controlPlane.distro.k8s.enabled": true,
      ...(kubernetes.tag !== at(defaults, ["controlPlane", "distro", "k8s", "image", "tag"])
        ? { "controlPlane.distro.k8s.image.tag": kubernetes.tag }
        : {}),
      "controlPlane.proxy.extraSANs": [API_HOST],
      "controlPlane.statefulSet.image.repository": image.repository,
      "controlPlane.statefulSet.image.tag": image.tag,
      "controlPlane.statefulSet.resources.limits.cpu": settings.vcluster.cpu,
      "controlPlane.statefulSet.resources.limits.memory": settings.vcluster.memory,
      "controlPlane.statefulSet.resources.limits.ephemeral-storage": MISSING,
      "controlPlane.statefulSet.resources.requests.cpu": settings.vcluster.cpu,
      "controlPlane.statefulSet.resources.requests.memory": settings.vcluster.memory,
      "controlPlane.statefulSet.resources.requests.ephemeral-storage": MISSING,
      "controlPlane.statefulSet.security.podSecurityContext": {
        ...secure,
        fsGroup: 12345,
        seccompProfile: { type: "RuntimeDefault" },
      },
      "controlPlane.statefulSet.security.containerSecurityContext.runAsUser": 12345,
      "controlPlane.statefulSet.security.containerSecurityContext.runAsGroup": 12345,
      "controlPlane.statefulSet.security.containerSecurityContext.runAsNonRoot": true,
      "controlPlane.statefulSet.security.containerSecurityContext.capabilities.drop": ["ALL"],
      "controlPlane.statefulSet.persistence.volumeClaim.enabled": false,
      "controlPlane.statefulSet.probes.livenessProbe.initialDelaySeconds": 0,
      "controlPlane.statefulSet.probes.startupProbe.failureThreshold": 100,
      "networking.advanced.fallbackHostCluster": true,
      "policies.podSecurityStandard": "restricted",
      "exportKubeConfig.server": `https://${API_HOST}`,
      "telemetry.enabled": false,
    });
  });

  it("with persistence, the volume claim is on at the operator's size", () => {
    const ours = rendered({ settings: testSettings({ PRENV_VCLUSTER_PERSISTENCE: "7Gi" }).environment });
    expect(at(ours, ["controlPlane", "statefulSet", "persistence", "volumeClaim"])).toMatchObject({
      enabled: true,
      size: "7Gi",
    });
  });

  it.each([
    ["without persistence, restricted", {}],
    ["with persistence, baseline", { persistence: "5Gi", podSecurity: "baseline" as const }],
    ["with an operator's mirror", { mirror: true }],
  ])("is valid against the release's values.schema.json (%s)", (_, opts) => {
    const env: Record<string, string> = {};
    if ("persistence" in opts) env.PRENV_VCLUSTER_PERSISTENCE = opts.persistence;
    if ("mirror" in opts) {
      env.PRENV_VCLUSTER_IMAGE = "registry.internal:5000/mirror/vcluster-oss:0.36.1";
      env.PRENV_VCLUSTER_KUBERNETES_IMAGE = "registry.internal:5000/mirror/kubernetes:v1.34.4";
    }
    const ours = rendered({
      settings: testSettings(env).environment,
      ...("podSecurity" in opts ? { podSecurity: opts.podSecurity } : {}),
    });
    expect(validate(ours) ? [] : validate.errors).toEqual([]);
  });

  it("an unknown key is refused by the schema (the check can fail)", () => {
    const ours = rendered();
    (ours.controlPlane as Tree).distroo = {};
    expect(validate(ours)).toBe(false);
  });
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** One line per (group, resource, verb) a set of rules grants. */
function grants(rules: Rule[]): Set<string> {
  return new Set(
    rules.flatMap((r) =>
      r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`))),
    ),
  );
}

describe.skipIf(!chart.ok)("the prenv-vcluster role", () => {
  const docs = parseAllDocuments(readFileSync(join(repoRoot, "deploy/rbac.yaml"), "utf8")).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: Rule[] },
  );
  const role = docs.find((d) => d.kind === "ClusterRole" && d.metadata.name === "prenv-vcluster")!;
  // Every rule the chart's namespace Role can hold, whatever its conditions (Helm directives removed).
  const chartRules = chart.ok
    ? (parse(
        chart
          .read("templates/role.yaml")
          .split(/^rules:$/m)[1]!
          .split("\n")
          .filter((l) => !l.includes("{{"))
          .join("\n"),
      ) as Rule[])
    : [];

  it("grants nothing the pinned chart's role does not", () => {
    const chartGrants = grants(chartRules);
    expect([...grants(role.rules!)].filter((g) => !chartGrants.has(g))).toEqual([]);
  });

  it("grants what the syncs prenv turns on need: every resource synced to the host, fully", () => {
    const ours = grants(role.rules!);
    const synced: Record<string, string> = {
      services: "/services",
      endpoints: "/endpoints",
      endpointSlices: "discovery.k8s.io/endpointslices",
      persistentVolumeClaims: "/persistentvolumeclaims",
      configMaps: "/configmaps",
      secrets: "/secrets",
      pods: "/pods",
      ingresses: "networking.k8s.io/ingresses",
    };
    const toHost = (rendered().sync as { toHost: Record<string, { enabled: unknown }> }).toHost;
    const enabled = Object.keys(toHost).filter((k) => toHost[k]!.enabled === true);
    expect(enabled.sort()).toEqual(Object.keys(synced).sort());
    for (const resource of Object.values(synced)) {
      for (const verb of ["create", "delete", "patch", "update", "get", "list", "watch"]) {
        expect(ours, `${resource}:${verb}`).toContain(`${resource}:${verb}`);
      }
    }
    for (const events of ["/events", "events.k8s.io/events"]) {
      for (const verb of ["create", "get", "list", "watch"]) expect(ours).toContain(`${events}:${verb}`);
    }
  });

  it("grants nothing cluster-scoped and no RBAC", () => {
    for (const r of role.rules!) {
      expect(r.apiGroups).not.toContain("rbac.authorization.k8s.io");
      expect(r.resources).not.toEqual(expect.arrayContaining(["nodes", "namespaces", "*"]));
    }
  });
});
