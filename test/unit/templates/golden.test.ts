// Golden files for what prenv renders from templates/: the namespace guards, the preview
// Ingress, and the PR comment in each state. Review a diff in test/unit/templates/golden/ as you
// would review the change to the cluster or to what users read.
import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../../../src/config/parse.js";
import { accessInstructions } from "../../../src/report/instructions.js";
import {
  imageParts,
  ingressObject,
  namespaceObjects,
  vclusterObjects,
  withControlPlane,
} from "../../../src/environment/guards.js";
import { renderComment, type Report } from "../../../src/report/comment.js";
import { loadTemplates } from "../../../src/runtime/templates.js";
import { stringify } from "yaml";
import { testSettings } from "../../support/settings.js";

const t = loadTemplates();
const settings = testSettings({ PRENV_POD_SECURITY_VERSION: "v1.34" }).environment;
const parsed = parseRepoConfig({ url: { service: "web", port: 8080 }, podSecurity: "baseline" });
if (!parsed.ok) throw new Error("test config invalid");
const config = parsed.config;
const ns = "pr-12-acme-web-1a2b3c";
const sha = "0123456789abcdef0123456789abcdef01234567";

const base: Report = {
  kind: "ready",
  sha,
  url: `https://${ns}.preview.test/`,
  namespace: ns,
  expiresAt: new Date("2026-11-25T10:00:00Z"),
  detail: null,
  detailMarkdown: null,
  problems: [],
  failure: null,
  cost: "~1.34 USD/day (1.2 CPU, 1.5 GiB requested)",
};

describe("rendered templates", () => {
  it("namespace guards", async () => {
    const objects = namespaceObjects(t.guards, {
      namespace: ns,
      labels: { "app.kubernetes.io/managed-by": "prenv", "prenv.dev/pr": "12" },
      annotations: { "prenv.dev/repository": "acme/web", "prenv.dev/expires-at": "2026-11-25T10:00:00.000Z" },
      config,
      settings,
    });
    expect(objects.map((o) => o.kind)).toEqual([
      "Namespace",
      "ResourceQuota",
      "LimitRange",
      "NetworkPolicy",
      "ServiceAccount",
      "RoleBinding",
    ]);
    await expect(objects.map((o) => stringify(o)).join("---\n")).toMatchFileSnapshot("golden/namespace.yaml");
  });

  it("a hostile value cannot change the shape of the guard manifests", () => {
    const objects = namespaceObjects(t.guards, {
      namespace: ns,
      labels: {},
      annotations: { "prenv.dev/repository": 'x"\n---\napiVersion: v1\nkind: Secret' },
      config,
      settings,
    });
    expect(objects).toHaveLength(6);
    expect(objects[0]!.metadata.annotations?.["prenv.dev/repository"]).toBe(
      'x"\n---\napiVersion: v1\nkind: Secret',
    );
  });

  it.each([
    ["internet", [{ cidr: "0.0.0.0/0" }, { cidr: "::/0" }]],
    ["none", []],
    [["203.0.113.0/24", "0.0.0.0/1"], [{ cidr: "203.0.113.0/24" }, { cidr: "0.0.0.0/1" }]],
  ])("egress allow %j reaches DNS, the namespace and only those ranges, never a denied one", (allow, blocks) => {
    const cfg = parseRepoConfig({ egress: { allow } });
    if (!cfg.ok) throw new Error("test config invalid");
    const [policy] = namespaceObjects(t.guards, {
      namespace: ns,
      labels: {},
      annotations: {},
      config: cfg.config,
      settings,
    }).filter((o) => o.kind === "NetworkPolicy");
    const egress = (policy!.spec as { egress: { to: { ipBlock?: { cidr: string; except?: string[] } }[] }[] })
      .egress;
    const ipBlocks = egress.flatMap((rule) => rule.to.flatMap((to) => (to.ipBlock ? [to.ipBlock] : [])));
    expect(ipBlocks.map((b) => ({ cidr: b.cidr }))).toEqual(blocks);
    // 0.0.0.0/1 holds 10.0.0.0/8, 100.64.0.0/10 and 127.0.0.0/8: they are cut out of it.
    const half = ipBlocks.find((b) => b.cidr === "0.0.0.0/1");
    if (half) expect(half.except).toEqual(["10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8"]);
    const v4 = ipBlocks.find((b) => b.cidr === "0.0.0.0/0");
    if (v4) expect(v4.except).toContain("169.254.0.0/16");
    const v6 = ipBlocks.find((b) => b.cidr === "::/0");
    if (v6) expect(v6.except).toEqual(["fc00::/7", "fe80::/10"]);
  });

  it("namespace guards of a virtual cluster: its service account bound to prenv-vcluster, quota with the control plane", async () => {
    const vc = parseRepoConfig({ isolation: "vcluster", resources: { cpu: "2", memory: "4Gi" } });
    if (!vc.ok) throw new Error("test config invalid");
    const objects = namespaceObjects(t.guards, {
      namespace: ns,
      labels: { "app.kubernetes.io/managed-by": "prenv", "prenv.dev/pr": "12" },
      annotations: { "prenv.dev/isolation": "vcluster", "prenv.dev/api-host": `${ns}.api.preview.test` },
      config: vc.config,
      settings,
    });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      `Namespace/${ns}`,
      "ResourceQuota/prenv",
      "LimitRange/prenv",
      "NetworkPolicy/prenv-default-deny",
      "ServiceAccount/prenv-tenant",
      "RoleBinding/prenv-tenant",
      "NetworkPolicy/prenv-vcluster-host-api",
      "ServiceAccount/vc-vcluster",
      "RoleBinding/vc-vcluster",
    ]);
    await expect(objects.map((o) => stringify(o)).join("---\n")).toMatchFileSnapshot(
      "golden/namespace-vcluster.yaml",
    );
  });

  it("the virtual cluster's host objects: config, workload service account, service, control plane without persistence", async () => {
    const vc = parseRepoConfig({ isolation: "vcluster" });
    if (!vc.ok) throw new Error("test config invalid");
    const objects = vclusterObjects(t.guards, {
      namespace: ns,
      labels: { "app.kubernetes.io/managed-by": "prenv", "prenv.dev/applied": "true" },
      apiHost: `${ns}.api.preview.test`,
      config: vc.config,
      settings,
    });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Secret/vc-config-vcluster",
      "ServiceAccount/vc-workload-vcluster",
      "Service/vcluster",
      "Deployment/vcluster",
    ]);
    await expect(objects.map((o) => stringify(o)).join("---\n")).toMatchFileSnapshot(
      "golden/vcluster.yaml",
    );
  });

  it("a virtual cluster with persistence is a StatefulSet with a volume claim and a headless service", () => {
    const vc = parseRepoConfig({ isolation: "vcluster" });
    if (!vc.ok) throw new Error("test config invalid");
    const persistent = testSettings({ PRENV_VCLUSTER_PERSISTENCE: "5Gi" }).environment;
    const objects = vclusterObjects(t.guards, {
      namespace: ns,
      labels: {},
      apiHost: `${ns}.api.preview.test`,
      config: vc.config,
      settings: persistent,
    });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Secret/vc-config-vcluster",
      "ServiceAccount/vc-workload-vcluster",
      "Service/vcluster",
      "Service/vcluster-headless",
      "StatefulSet/vcluster",
    ]);
    const sts = objects[4] as unknown as { spec: { volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[] } };
    expect(sts.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage).toBe("5Gi");
    const config = (objects[0] as unknown as { stringData: Record<string, string> }).stringData["config.yaml"]!;
    expect(config).toMatch(/volumeClaim:\n\s+enabled: true/);
    expect(withControlPlane(vc.config.resources, persistent.vcluster).storage).toBe(`${10 * 1024 + 5 * 1024}Mi`);
  });

  it("the control plane runs under Pod Security restricted: non-root, no escalation, no capabilities, RuntimeDefault", () => {
    const vc = parseRepoConfig({ isolation: "vcluster" });
    if (!vc.ok) throw new Error("test config invalid");
    const [, , , deployment] = vclusterObjects(t.guards, {
      namespace: ns,
      labels: {},
      apiHost: "h.api.preview.test",
      config: vc.config,
      settings,
    });
    const pod = (deployment as unknown as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec as {
      securityContext: Record<string, unknown>;
      containers: { securityContext: Record<string, unknown> }[];
      initContainers: { securityContext: Record<string, unknown> }[];
    };
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    for (const c of [...pod.containers, ...pod.initContainers]) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    }
  });

  it.each([
    ["ghcr.io/loft-sh/vcluster-oss:0.37.1", { registry: "ghcr.io", repository: "loft-sh/vcluster-oss", tag: "0.37.1" }],
    ["registry.internal:5000/mirror/kubernetes:v1.36.0", { registry: "registry.internal:5000", repository: "mirror/kubernetes", tag: "v1.36.0" }],
    ["loftsh/vcluster:0.20.0", { registry: "docker.io", repository: "loftsh/vcluster", tag: "0.20.0" }],
    ["ghcr.io/x/y:1.0@sha256:" + "a".repeat(64), { registry: "ghcr.io", repository: "x/y", tag: "1.0" }],
  ])("image %s splits into the parts vcluster.yaml spells", (ref, parts) => {
    expect(imageParts(ref)).toEqual(parts);
  });

  it("prenv's routes on the operator's Gateway: the preview's HTTPRoute and the virtual cluster API's TLSRoute", async () => {
    const text = t.guards.routes({
      mode: "gateway",
      namespace: ns,
      labels: { "app.kubernetes.io/managed-by": "prenv", "prenv.dev/applied": "true" },
      gateway: { namespace: "prenv-gateway", name: "prenv" },
      preview: { host: `${ns}.preview.test`, service: "web", port: 8080, path: "/" },
      api: { host: `${ns}.api.preview.test`, service: "vcluster", port: 443 },
      ingressClass: "previews",
      apiAnnotations: null,
    });
    await expect(text).toMatchFileSnapshot("golden/routes-gateway.yaml");
  });

  it("routing: ingress: the virtual cluster API's Ingress carries the operator's annotations and no others", async () => {
    const text = t.guards.routes({
      mode: "ingress",
      namespace: ns,
      labels: { "prenv.dev/applied": "true" },
      gateway: { namespace: "prenv-gateway", name: "prenv" },
      preview: null,
      api: { host: `${ns}.api.preview.test`, service: "vcluster", port: 443 },
      ingressClass: "previews",
      apiAnnotations: { "example.com/ssl-passthrough": "true" },
    });
    await expect(text).toMatchFileSnapshot("golden/routes-ingress.yaml");
    const plain = t.guards.routes({
      mode: "ingress",
      namespace: ns,
      labels: {},
      gateway: { namespace: "prenv-gateway", name: "prenv" },
      preview: null,
      api: { host: `${ns}.api.preview.test`, service: "vcluster", port: 443 },
      ingressClass: "previews",
      apiAnnotations: null,
    });
    expect(plain).not.toContain("annotations:");
  });

  it("preview ingress", async () => {
    const ingress = ingressObject(t.guards, {
      namespace: ns,
      labels: { "prenv.dev/applied": "true" },
      host: `${ns}.preview.test`,
      config,
      settings,
    });
    await expect(stringify(ingress)).toMatchFileSnapshot("golden/ingress.yaml");
  });

  it.each<[string, Partial<Report>]>([
    ["ready", {}],
    ["deploying", { kind: "deploying" }],
    [
      "failed",
      {
        kind: "failed",
        detail: "Not ready after 300 s: Deployment/web.",
        failure: {
          pods: [
            {
              name: "web-5d9c-x2x",
              reason: "CrashLoopBackOff",
              message: "back-off restarting failed container",
              logs: "boot\n```\n@everyone <b>x</b>\npanic: no DATABASE_URL",
            },
          ],
          events: [
            {
              object: "ReplicaSet/web-5d9c",
              reason: "FailedCreate",
              message: "exceeded quota: prenv, requested: limits.cpu=4",
            },
          ],
        },
      },
    ],
    [
      "manifest-invalid",
      {
        kind: "manifest-invalid",
        problems: [
          "deploy/preview/rbac.yaml: ClusterRoleBinding/grab is cluster-scoped; use isolation: vcluster",
        ],
        detail: "Nothing was created.",
      },
    ],
    [
      "invalid-config",
      {
        kind: "invalid-config",
        detailMarkdown: "`.github/prenv.yml` has 1 problem:\n\n- `ttl`: bad.",
        detail: "Nothing was created.",
        url: null,
      },
    ],
    [
      "deleted",
      { kind: "deleted", sha: null, detail: "The pull request was merged. The environment was deleted." },
    ],
    [
      "ready-vcluster-access",
      {
        access: accessInstructions(
          testSettings({ PRENV_PUBLIC_URL: "https://prenv.example.com/" }).environment.access,
          { owner: "acme", repo: "web", number: 12 },
        ),
        virtualApi: `https://${ns}.api.preview.test`,
      },
    ],
  ])("comment: %s", async (name, over) => {
    await expect(renderComment(t.comment, { ...base, ...over })).toMatchFileSnapshot(
      `golden/comment-${name}.md`,
    );
  });

  it("escapes untrusted text in the comment: no mentions, no HTML, no early end of a code block", () => {
    const body = renderComment(t.comment, {
      ...base,
      kind: "failed",
      failure: {
        pods: [
          {
            name: "@admin <img src=x>",
            reason: "x",
            message: "[click](http://evil)",
            logs: "````\nstill inside",
          },
        ],
        events: [],
      },
    });
    expect(body).not.toContain("@admin");
    expect(body).not.toMatch(/(^|[^\\])<img/);
    expect(body).not.toContain("[click](http://evil)");
    expect(body).toMatch(/`{5}text\n````\nstill inside\n`{5}/);
  });
});
