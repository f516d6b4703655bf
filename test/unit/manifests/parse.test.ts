import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { ManifestError } from "../../../src/manifests/errors.js";
import { CLUSTER_SCOPED_KINDS, PRENV_MANAGED_KINDS } from "../../../src/manifests/policy.js";
import {
  MAX_ERRORS,
  parseTenantManifests,
  type ParseOptions,
  type TenantObject,
} from "../../../src/manifests/parse.js";
import type { TemplateVars } from "../../../src/manifests/template.js";

const NS = "pr-42-acme-web-1a2b3c";
const vars: TemplateVars = {
  pr: 42,
  sha: "0123456789abcdef0123456789abcdef01234567",
  shortSha: "0123456",
  branch: "feature/login",
  branchSlug: "feature-login",
  namespace: NS,
  host: `${NS}.preview.example.com`,
  image: "ghcr.io/acme/web:0123456",
};
const LABELS = { "app.kubernetes.io/managed-by": "prenv", "prenv.dev/applied": "true" };

function options(over: Partial<ParseOptions> = {}): ParseOptions {
  return { namespace: NS, labels: LABELS, isolation: "namespace", vars, ingressClass: "previews", ...over };
}

type Files = { path: string; content: string }[];

function file(path: string, ...docs: unknown[]): { path: string; content: string } {
  return { path, content: docs.map((d) => (typeof d === "string" ? d : stringify(d))).join("\n---\n") };
}

function accepted(files: Files, over: Partial<ParseOptions> = {}): TenantObject[] {
  const result = parseTenantManifests(files, options(over));
  if (!result.ok)
    throw new Error(`expected success, got:\n${result.errors.map((e) => e.message).join("\n")}`);
  return result.objects;
}

function refused(files: Files, over: Partial<ParseOptions> = {}): ManifestError[] {
  const result = parseTenantManifests(files, options(over));
  if (result.ok) throw new Error(`expected errors, got ${result.objects.length} objects`);
  return result.errors;
}

/** The only error for `files`. */
function refusal(files: Files, over: Partial<ParseOptions> = {}): ManifestError {
  const errors = refused(files, over);
  expect(errors.map((e) => e.message)).toHaveLength(1);
  return errors[0]!;
}

function configMap(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { a: "b" }, ...extra };
}

function deployment(name: string, podSpec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec },
    },
  };
}

const container = (extra: Record<string, unknown> = {}) => ({ name: "app", image: "nginx", ...extra });

describe("parseTenantManifests: accepted objects", () => {
  it("reads every YAML file and document, keeping each object's file", () => {
    const objects = accepted([
      file("deploy/app.yaml", deployment("web", { containers: [container()] }), {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: { ports: [{ port: 80 }] },
      }),
      file("deploy/config.yml", configMap("settings")),
    ]);
    expect(objects.map((o) => [o.file, `${o.object.kind}/${o.object.metadata.name}`])).toEqual([
      ["deploy/app.yaml", "Deployment/web"],
      ["deploy/app.yaml", "Service/web"],
      ["deploy/config.yml", "ConfigMap/settings"],
    ]);
  });

  it("lists files that are not YAML as ignored instead of reading them", () => {
    const result = parseTenantManifests(
      [file("deploy/README.md", "# not yaml {{nope}}"), file("deploy/a.yaml", configMap("a"))],
      options(),
    );
    expect(result).toMatchObject({ ok: true, ignored: ["deploy/README.md"] });
  });

  it("forces the PR's namespace, merges labels (prenv's win) and strips server-written fields", () => {
    const [only] = accepted([
      file(
        "a.yaml",
        configMap("settings", {
          metadata: {
            name: "settings",
            labels: { team: "web", "prenv.dev/applied": "false" },
            annotations: { note: "kept" },
            managedFields: [{ manager: "kubectl" }],
            resourceVersion: "123",
            uid: "0000-1111",
            creationTimestamp: "2024-01-01T00:00:00Z",
            generation: 4,
          },
          status: { phase: "Active" },
        }),
      ),
    ]);
    expect(only!.object).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "settings",
        namespace: NS,
        labels: { team: "web", ...LABELS },
        annotations: { note: "kept" },
      },
      data: { a: "b" },
    });
  });

  it("accepts metadata.namespace when it already is the PR's namespace", () => {
    const [only] = accepted([file("a.yaml", configMap("x", { metadata: { name: "x", namespace: NS } }))]);
    expect(only!.object.metadata.namespace).toBe(NS);
  });

  it("renders templates with the PR's variables before parsing", () => {
    const source = [
      "apiVersion: networking.k8s.io/v1",
      "kind: Ingress",
      "metadata:",
      "  name: web-{{branchSlug}}",
      "  namespace: {{namespace}}",
      "  annotations: { sha: '{{sha}}', pr: '{{pr}}' }",
      "spec:",
      "  rules: [{ host: {{host}} }]",
    ].join("\n");
    const [only] = accepted([{ path: "ingress.yaml", content: source }]);
    expect(only!.object.metadata).toMatchObject({
      name: "web-feature-login",
      namespace: NS,
      annotations: { sha: vars.sha, pr: "42" },
    });
    expect(only!.object.spec).toEqual({ ingressClassName: "previews", rules: [{ host: vars.host }] });
  });

  it("fills template variables into deploy.image before using it", () => {
    const source =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: '{{image}}'}]";
    const [only] = accepted([{ path: "pod.yaml", content: source }], {
      vars: { ...vars, image: "ghcr.io/acme/web:{{shortSha}}" },
    });
    expect(only!.object.spec).toEqual({ containers: [{ name: "a", image: "ghcr.io/acme/web:0123456" }] });
  });

  it("reports a bad deploy.image once, against the config file", () => {
    const files = [1, 2].map((i) => ({ path: `f${i}.yaml`, content: "image: {{image}}" }));
    const err = refusal(files, { vars: { ...vars, image: "ghcr.io/acme/web:{{tag}}" } });
    expect(err).toMatchObject({ code: "TEMPLATE", file: ".github/prenv.yml (deploy.image)" });
  });

  it("does not read template syntax that comes from a variable's value", () => {
    const source =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {image: '{{image}}', branch: '{{branch}}'}";
    const [only] = accepted([{ path: "a.yaml", content: source }], {
      vars: { ...vars, branch: "x{{pr}}", image: "ghcr.io/acme/web:{{branch}}" },
    });
    expect(only!.object.data).toEqual({ image: "ghcr.io/acme/web:x{{pr}}", branch: "x{{pr}}" });
  });

  it("skips empty and comment-only documents", () => {
    const objects = accepted([
      {
        path: "a.yaml",
        content: "---\n# only a comment\n---\n\n---\n" + stringify(configMap("a")) + "---\n~\n",
      },
    ]);
    expect(objects).toHaveLength(1);
  });

  it("returns no objects and no errors for no files", () => {
    expect(parseTenantManifests([], options())).toEqual({ ok: true, objects: [], ignored: [] });
  });

  it("flattens kind: List and typed lists such as ConfigMapList", () => {
    const objects = accepted([
      file("list.yaml", { apiVersion: "v1", kind: "List", items: [configMap("a"), configMap("b")] }),
      file("typed.yaml", { apiVersion: "v1", kind: "ConfigMapList", items: [configMap("c")] }),
    ]);
    expect(objects.map((o) => o.object.metadata.name)).toEqual(["a", "b", "c"]);
    expect(objects.every((o) => o.object.metadata.namespace === NS)).toBe(true);
  });

  it("reads YAML as kubectl does: octal modes, merge keys, and dates left as text", () => {
    const source = [
      "apiVersion: v1",
      "kind: Pod",
      "metadata: {name: p, annotations: {built: 2024-05-01}}",
      "spec:",
      "  containers:",
      "  - &base {name: a, image: nginx}",
      "  - <<: *base",
      "    name: b",
      "  volumes: [{name: s, secret: {secretName: s, defaultMode: 0644}}]",
    ].join("\n");
    const [only] = accepted([{ path: "pod.yaml", content: source }]);
    expect(only!.object.metadata.annotations).toEqual({ built: "2024-05-01" });
    expect(only!.object.spec).toEqual({
      containers: [
        { name: "a", image: "nginx" },
        { name: "b", image: "nginx" },
      ],
      volumes: [{ name: "s", secret: { secretName: "s", defaultMode: 0o644 } }],
    });
  });

  it("gives objects that share YAML anchors independent metadata", () => {
    const source = [
      "apiVersion: v1",
      "kind: List",
      "items:",
      "- {apiVersion: v1, kind: ConfigMap, metadata: &meta {labels: {team: web}, name: a}}",
      "- {apiVersion: v1, kind: Secret, metadata: *meta}",
    ].join("\n");
    const [a, b] = accepted([{ path: "l.yaml", content: source }]);
    expect(a!.object.metadata).not.toBe(b!.object.metadata);
    expect(a!.object.metadata.labels).not.toBe(b!.object.metadata.labels);
  });

  it("keeps a __proto__ key as data without touching prototypes", () => {
    const source =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  __proto__: {polluted: yes}\n";
    const [only] = accepted([{ path: "a.yaml", content: source }]);
    const data = only!.object.data as Record<string, unknown>;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.hasOwn(data, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("allows NET_BIND_SERVICE, dropped capabilities and explicit false host flags", () => {
    const objects = accepted([
      file(
        "a.yaml",
        deployment("web", {
          hostNetwork: false,
          containers: [
            container({
              securityContext: {
                privileged: false,
                capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] },
              },
              ports: [{ containerPort: 80 }],
            }),
          ],
        }),
      ),
    ]);
    expect(objects).toHaveLength(1);
  });
});

describe("parseTenantManifests: refused in namespace isolation", () => {
  it.each(CLUSTER_SCOPED_KINDS.map((kind) => [kind]))(
    "refuses cluster-scoped %s and suggests vcluster",
    (kind) => {
      const err = refusal([
        file("deploy/cluster.yaml", { apiVersion: "v1", kind, metadata: { name: "thing" } }),
      ]);
      expect(err).toMatchObject({
        code: "CLUSTER_SCOPED",
        file: "deploy/cluster.yaml",
        object: `${kind}/thing`,
        line: 1,
      });
      expect(err.message).toMatch(
        new RegExp(`^deploy/cluster\\.yaml line 1, ${kind}/thing: ${kind} is a cluster-scoped kind`),
      );
      expect(err.message).toContain("isolation: vcluster");
    },
  );

  it.each(PRENV_MANAGED_KINDS.map((kind) => [kind]))(
    "refuses %s, explaining that prenv manages it",
    (kind) => {
      const apiVersion = kind === "NetworkPolicy" ? "networking.k8s.io/v1" : "v1";
      const err = refusal([file("guards.yaml", { apiVersion, kind, metadata: { name: "mine" } })]);
      expect(err).toMatchObject({ code: "MANAGED_BY_PRENV", object: `${kind}/mine` });
      expect(err.message).toContain(`prenv manages the ${kind} of every preview namespace`);
    },
  );

  it("refuses an object aimed at another namespace, naming file, object and namespace", () => {
    const err = refusal([
      file(
        "deploy/app.yaml",
        configMap("a"),
        configMap("settings", { metadata: { name: "settings", namespace: "kube-system" } }),
      ),
    ]);
    expect(err).toMatchObject({
      code: "OTHER_NAMESPACE",
      file: "deploy/app.yaml",
      object: "ConfigMap/settings",
      line: 9,
    });
    expect(err.message).toContain('metadata.namespace is "kube-system"');
    expect(err.message).toContain(`its own namespace ${NS}`);
  });

  it("treats an empty metadata.namespace as unset", () => {
    const [only] = accepted([file("a.yaml", configMap("a", { metadata: { name: "a", namespace: "" } }))]);
    expect(only!.object.metadata.namespace).toBe(NS);
  });

  it("refuses a metadata.namespace that is not text", () => {
    const err = refusal([file("a.yaml", configMap("a", { metadata: { name: "a", namespace: 7 } }))]);
    expect(err.message).toContain("metadata.namespace is a number, not text");
  });
});

describe("parseTenantManifests: host access in pod specs", () => {
  const violations: [string, Record<string, unknown>, RegExp][] = [
    [
      "hostPath volume",
      { volumes: [{ name: "root", hostPath: { path: "/" } }] },
      /Volume "root" in .* is a hostPath volume/,
    ],
    [
      "privileged container",
      { containers: [container({ securityContext: { privileged: true } })] },
      /Container "app" .* is privileged/,
    ],
    [
      "hostNetwork",
      { hostNetwork: true },
      /hostNetwork is set, which would share the node's Network namespace/,
    ],
    ["hostPID", { hostPID: true }, /hostPID is set/],
    ["hostIPC", { hostIPC: true }, /hostIPC is set/],
    [
      "added capabilities",
      {
        containers: [
          container({
            securityContext: { capabilities: { add: ["NET_BIND_SERVICE", "SYS_ADMIN", "CAP_NET_RAW"] } },
          }),
        ],
      },
      /adds the capabilities "SYS_ADMIN", "CAP_NET_RAW"; only NET_BIND_SERVICE may be added/,
    ],
    [
      "hostPort",
      { containers: [container({ ports: [{ containerPort: 80, hostPort: 80 }] })] },
      /binds host port "80" on the node/,
    ],
    [
      "privileged init container",
      { initContainers: [container({ securityContext: { privileged: true } })] },
      /is privileged/,
    ],
  ];
  const wrap: Record<string, (name: string, podSpec: Record<string, unknown>) => Record<string, unknown>> = {
    Pod: (name, spec) => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec }),
    Deployment: (name, spec) => deployment(name, spec),
    StatefulSet: (name, spec) => ({ ...deployment(name, spec), kind: "StatefulSet" }),
    DaemonSet: (name, spec) => ({ ...deployment(name, spec), kind: "DaemonSet" }),
    ReplicaSet: (name, spec) => ({ ...deployment(name, spec), kind: "ReplicaSet" }),
    Job: (name, spec) => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name },
      spec: { template: { spec } },
    }),
    CronJob: (name, spec) => ({
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name },
      spec: { schedule: "* * * * *", jobTemplate: { spec: { template: { spec } } } },
    }),
    Rollout: (name, spec) => ({
      ...deployment(name, spec),
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
    }),
  };
  const cases = Object.keys(wrap).flatMap((kind) =>
    violations.map(([what, spec, message]) => ({ kind, what, spec, message })),
  );

  it.each(cases)("refuses a $kind with $what", ({ kind, spec, message }) => {
    const podSpec = { containers: [container()], ...spec };
    const err = refusal([file("w.yaml", wrap[kind]!("w", podSpec))]);
    expect(err).toMatchObject({ code: "HOST_ACCESS", file: "w.yaml", object: `${kind}/w` });
    expect(err.message).toMatch(message);
  });

  it("reports each problem of one pod separately", () => {
    const errors = refused([
      file(
        "w.yaml",
        deployment("w", {
          hostPID: true,
          volumes: [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }],
          containers: [container({ securityContext: { privileged: true } })],
        }),
      ),
    ]);
    expect(errors.map((e) => e.code)).toEqual(["HOST_ACCESS", "HOST_ACCESS", "HOST_ACCESS"]);
  });

  it("does not look for pod specs where a custom kind has none", () => {
    const objects = accepted([
      file("c.yaml", {
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "w" },
        spec: { template: { spec: { hostNetwork: true } } },
      }),
    ]);
    expect(objects).toHaveLength(1);
  });
});

describe("parseTenantManifests: vcluster isolation", () => {
  it("allows cluster-scoped kinds, prenv's guard kinds and other namespaces, without forcing the namespace", () => {
    const objects = accepted(
      [
        file(
          "v.yaml",
          { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } },
          { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "reader" } },
          { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "q", namespace: "team" } },
          configMap("a", { metadata: { name: "a", namespace: "team" } }),
          configMap("b"),
        ),
      ],
      { isolation: "vcluster" },
    );
    expect(objects.map((o) => o.object.metadata.namespace)).toEqual([
      undefined,
      undefined,
      "team",
      "team",
      undefined,
    ]);
    expect(objects.every((o) => o.object.metadata.labels?.["prenv.dev/applied"] === "true")).toBe(true);
  });

  it("still refuses host access", () => {
    const err = refusal([file("w.yaml", deployment("w", { hostNetwork: true, containers: [container()] }))], {
      isolation: "vcluster",
    });
    expect(err.code).toBe("HOST_ACCESS");
  });

  it("still applies the size limits", () => {
    const err = refusal([file("big.yaml", configMap("a", { data: { blob: "x".repeat(300 * 1024) } }))], {
      isolation: "vcluster",
    });
    expect(err.code).toBe("LIMIT");
  });

  it("treats a missing namespace and `default` as the same place when looking for duplicates", () => {
    const err = refusal(
      [file("a.yaml", configMap("a"), configMap("a", { metadata: { name: "a", namespace: "default" } }))],
      {
        isolation: "vcluster",
      },
    );
    expect(err.code).toBe("DUPLICATE");
  });
});

describe("parseTenantManifests: malformed objects", () => {
  it.each([
    [{ kind: "ConfigMap", metadata: { name: "a" } }, "apiVersion is missing"],
    [{ apiVersion: "v1", metadata: { name: "a" } }, "kind is missing"],
    [{ apiVersion: "v1", kind: "ConfigMap" }, "metadata is missing"],
    [{ apiVersion: "v1", kind: "ConfigMap", metadata: {} }, "metadata.name is missing"],
    [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "a-" } },
      "generateName cannot be used",
    ],
    [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "Not_Valid" } },
      'metadata.name "Not_Valid" is not a valid name',
    ],
    [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: 12 } },
      "metadata.name is a number, not text (quote it)",
    ],
    [{ apiVersion: 1, kind: "ConfigMap", metadata: { name: "a" } }, "apiVersion is a number, not text"],
    [{ apiVersion: "v1", kind: ["ConfigMap"], metadata: { name: "a" } }, "kind is a list, not text"],
    [
      { apiVersion: "apps/v1/x", kind: "ConfigMap", metadata: { name: "a" } },
      'apiVersion "apps/v1/x" is not an API version',
    ],
    [{ apiVersion: "v1", kind: "Config Map", metadata: { name: "a" } }, 'kind "Config Map" is not a kind'],
    [{ apiVersion: "v1", kind: "ConfigMap", metadata: ["a"] }, "metadata is a list, not a mapping"],
  ])("refuses %j: %s", (doc, message) => {
    const err = refusal([file("bad.yaml", doc)]);
    expect(err.code).toBe("INVALID_OBJECT");
    expect(err.message).toContain(message);
    expect(err.message).toContain("Every object needs apiVersion, kind and metadata.name.");
  });

  it("lists every missing field at once", () => {
    expect(refusal([file("bad.yaml", { spec: {} })]).message).toContain(
      "apiVersion is missing; kind is missing; metadata is missing",
    );
  });

  it.each([
    ["- a\n- b", "This YAML document is a list, not a Kubernetes object"],
    ["just text", "This YAML document is text, not a Kubernetes object"],
    ["42", "This YAML document is a number"],
  ])("refuses a document that is not a mapping: %j", (content, message) => {
    const err = refusal([{ path: "x.yaml", content }]);
    expect(err.code).toBe("INVALID_OBJECT");
    expect(err.message).toContain(message);
  });

  it("reads y/yes/on as booleans, as kubectl does, and says to quote them", () => {
    const err = refusal([
      { path: "a.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n" },
    ]);
    expect(err.message).toContain("metadata.name is the boolean true, not text (quote it)");
    expect(
      accepted([{ path: "a.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'y'}\n" }]),
    ).toHaveLength(1);
  });

  it("refuses label values that are not text, suggesting quotes", () => {
    const err = refusal([
      {
        path: "a.yaml",
        content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {enabled: yes}\n",
      },
    ]);
    expect(err.message).toContain(
      'metadata.labels value for "enabled" is the boolean true; labels values must be text',
    );
    expect(err.message).toContain("Quote the value");
  });

  it("refuses annotations that are not a mapping", () => {
    const err = refusal([file("a.yaml", configMap("a", { metadata: { name: "a", annotations: "x" } }))]);
    expect(err.message).toContain("metadata.annotations is text, not a mapping");
  });

  it("names the List item that is malformed", () => {
    const err = refusal([
      file("l.yaml", { apiVersion: "v1", kind: "List", items: [configMap("a"), { kind: "ConfigMap" }] }),
    ]);
    expect(err.object).toBe("List item 2");
    expect(err.message).toMatch(
      /^l\.yaml line 1, List item 2: This is not a valid Kubernetes object: apiVersion is missing/,
    );
  });

  it("refuses the same kind, namespace and name twice, pointing at the first", () => {
    const err = refusal([file("a.yaml", configMap("x")), file("b.yaml", configMap("other"), configMap("x"))]);
    expect(err).toMatchObject({ code: "DUPLICATE", file: "b.yaml", line: 9, object: "ConfigMap/x" });
    expect(err.message).toContain("a.yaml line 1 defines the same kind, namespace and name");
  });

  it("allows the same name for different kinds", () => {
    expect(accepted([file("a.yaml", configMap("x"), { ...configMap("x"), kind: "Secret" })])).toHaveLength(2);
  });
});

describe("parseTenantManifests: YAML errors", () => {
  it("reports a syntax error with file and line", () => {
    const err = refusal([
      { path: "deploy/app.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\ndata: x\n" },
    ]);
    expect(err.code).toBe("YAML");
    expect(err.file).toBe("deploy/app.yaml");
    expect(err.line).toBeGreaterThanOrEqual(3);
    expect(err.message).toMatch(/^deploy\/app\.yaml line \d+: The YAML is not valid: /);
  });

  it("reports tabs used for indentation with the fix", () => {
    const err = refusal([
      { path: "t.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n" },
    ]);
    expect(err.line).toBe(4);
    expect(err.message).toContain("Indent with spaces, not tabs.");
  });

  it("reports a duplicate key with its line", () => {
    const err = refusal([
      { path: "d.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n" },
    ]);
    expect(err).toMatchObject({ code: "YAML", line: 4 });
    expect(err.message).toContain('The key "kind" appears twice in the same mapping.');
  });

  it("keeps reading the other documents of a file with a broken one", () => {
    const errors = refused([
      { path: "m.yaml", content: `${stringify(configMap("a"))}---\na: [\n---\n${stringify(configMap("a"))}` },
    ]);
    expect(errors.map((e) => e.code)).toEqual(["YAML", "DUPLICATE"]);
  });

  it("reports an alias to an undefined anchor", () => {
    const err = refusal([
      { path: "a.yaml", content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: *nowhere\n" },
    ]);
    expect(err.code).toBe("YAML");
    expect(err.message).toContain("Define each anchor");
  });
});

describe("parseTenantManifests: limits", () => {
  it("refuses a file over maxFileBytes", () => {
    const err = refusal([file("big.yaml", configMap("a", { data: { blob: "x".repeat(2000) } }))], {
      limits: { maxFileBytes: 1024 },
    });
    expect(err).toMatchObject({ code: "LIMIT", file: "big.yaml" });
    expect(err.message).toMatch(
      /The file is 2(\.\d)? KiB; the limit is 1 KiB per file\. Split it into several files\./,
    );
  });

  it("counts bytes, not characters", () => {
    const err = refusal([file("u.yaml", configMap("a", { data: { s: "é".repeat(600) } }))], {
      limits: { maxFileBytes: 1024 },
    });
    expect(err.code).toBe("LIMIT");
  });

  it("refuses manifests over maxTotalBytes together", () => {
    const files = [1, 2, 3].map((i) =>
      file(`f${i}.yaml`, configMap(`c${i}`, { data: { blob: "x".repeat(500) } })),
    );
    const err = refusal(files, { limits: { maxTotalBytes: 1200 } });
    expect(err.code).toBe("LIMIT");
    expect(err.message).toContain("the limit is 1.2 KiB in all");
  });

  it("refuses more than maxFiles files", () => {
    const files = Array.from({ length: 4 }, (_, i) => file(`f${i}.yaml`, configMap(`c${i}`)));
    const err = refusal(files, { limits: { maxFiles: 3 } });
    expect(err.message).toContain("There are 4 manifest files; prenv reads at most 3.");
  });

  it("refuses more than maxObjects objects, counting List items", () => {
    const items = Array.from({ length: 4 }, (_, i) => configMap(`c${i}`));
    const err = refusal([file("l.yaml", { apiVersion: "v1", kind: "List", items })], {
      limits: { maxObjects: 3 },
    });
    expect(err.message).toContain("more than 3 objects");
    expect(
      accepted([file("l.yaml", { apiVersion: "v1", kind: "List", items })], { limits: { maxObjects: 4 } }),
    ).toHaveLength(4);
  });

  it("refuses a billion-laughs document", () => {
    const lol = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: {name: lol}",
      "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
    ].join("\n");
    const err = refusal([{ path: "lol.yaml", content: lol }]);
    expect(err).toMatchObject({ code: "ALIASES", file: "lol.yaml", line: 1 });
    expect(err.message).toContain("expands aliases (*name) too many times; the limit is 20 per document");
  });

  it("allows a few aliases", () => {
    const source =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {x: z}, annotations: *l}\n";
    expect(accepted([{ path: "a.yaml", content: source }])).toHaveLength(1);
  });

  it.each([
    ["flow", `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: ${"[".repeat(5000)}`],
    [
      "block",
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n${Array.from({ length: 60 }, (_, i) => `${" ".repeat(i)}k:`).join("\n")} x`,
    ],
  ])("refuses %s nesting deeper than maxDepth", (_name, content) => {
    const err = refusal([{ path: "deep.yaml", content }]);
    expect(err.code).toBe("TOO_DEEP");
    expect(err.message).toContain("nested more than 50 levels deep");
  });

  it("refuses nesting that only gets deep through aliases", () => {
    const chain = [
      "a: &a0 [x]",
      ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [[[[[[[*a${i}]]]]]]]`),
    ];
    const err = refusal(
      [
        {
          path: "a.yaml",
          content: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n${chain.join("\n")}`,
        },
      ],
      {
        limits: { maxAliasCount: 100_000 },
      },
    );
    expect(err.code).toBe("TOO_DEEP");
  });

  it("refuses a template that renders larger than maxFileBytes", () => {
    const content = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n${Array.from({ length: 20 }, (_, i) => `  k${i}: {{host}}`).join("\n")}`;
    const err = refusal([{ path: "t.yaml", content }], { limits: { maxFileBytes: 1024 } });
    expect(err.code).toBe("LIMIT");
    expect(err.message).toMatch(/renders to 1(\.\d)? KiB/);
  });

  it(`returns at most ${MAX_ERRORS} errors and counts the rest`, () => {
    const files = Array.from({ length: 60 }, (_, i) => file(`f${i}.yaml`, { kind: "ConfigMap" }));
    const result = parseTenantManifests(files, options());
    expect(result).toMatchObject({ ok: false, omitted: 10 });
    expect(result.ok === false && result.errors).toHaveLength(MAX_ERRORS);
  });
});

describe("parseTenantManifests: reports everything at once", () => {
  it("collects the problems of every file, in file order, and returns no objects", () => {
    const result = parseTenantManifests(
      [
        file("a.yaml", configMap("fine"), { apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } }),
        { path: "b.yaml", content: "a: [" },
        file("c.yaml", configMap("other", { metadata: { name: "other", namespace: "prod" } })),
        { path: "d.yaml", content: "x: {{nope}}" },
        file("e.yaml", deployment("w", { hostNetwork: true, containers: [container()] })),
        file("f.yaml", configMap("also-fine")),
      ],
      options(),
    );
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.errors.map((e) => [e.file, e.code])).toEqual([
      ["a.yaml", "CLUSTER_SCOPED"],
      ["b.yaml", "YAML"],
      ["c.yaml", "OTHER_NAMESPACE"],
      ["d.yaml", "TEMPLATE"],
      ["e.yaml", "HOST_ACCESS"],
    ]);
  });

  it("never quotes more than 80 characters of the tenant's text", () => {
    const long = "n".repeat(10_000);
    const errors = refused([
      file("a.yaml", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: long } }),
      file("b.yaml", { apiVersion: long, kind: long, metadata: { name: "a", namespace: long } }),
      file("c.yaml", configMap("c", { metadata: { name: "c", namespace: long } })),
      file(
        "d.yaml",
        deployment("d", { volumes: [{ name: long, hostPath: {} }], containers: [container({ name: long })] }),
      ),
      { path: "e.yaml", content: `a: *${long}` },
      { path: "f.yaml", content: `${long}: {{${long}}}` },
    ]);
    expect(errors).toHaveLength(6);
    for (const e of errors) expect(e.message).not.toMatch(/n{81}/);
  });
});

describe("parseTenantManifests refuses what would route traffic or identities out of the preview", () => {
  const svc = (spec: object) => ({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec });
  const ingress = (metadata: object, spec: object = {}) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "i", ...metadata },
    spec: { rules: [{ host: vars.host }], ...spec },
  });
  const deployment = (podSpec: object) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d" },
    spec: { template: { spec: { containers: [{ name: "c", image: "x" }], ...podSpec } } },
  });

  it.each([
    [
      "an ExternalName Service",
      svc({ type: "ExternalName", externalName: "db.other.svc.cluster.local" }),
      /ExternalName/,
    ],
    [
      "a Service with externalIPs",
      svc({ selector: { a: "b" }, ports: [{ port: 80 }], externalIPs: ["1.2.3.4"] }),
      /CVE-2020-8554/,
    ],
    [
      "an Ingress of another class",
      ingress({}, { ingressClassName: "public" }),
      /previews may only use this installation's class "previews"/,
    ],
    [
      "an Ingress aliasing another host",
      ingress({ annotations: { "nginx.ingress.kubernetes.io/server-alias": "bank.example.com" } }),
      /configure an ingress controller/,
    ],
    [
      "an Ingress with a Traefik router rule",
      ingress({ annotations: { "traefik.ingress.kubernetes.io/router.rule": "Host(`x`)" } }),
      /configure an ingress controller/,
    ],
    [
      "the legacy class annotation",
      ingress({ annotations: { "kubernetes.io/ingress.class": "public" } }),
      /configure an ingress controller/,
    ],
    [
      "a pod running as prenv-tenant",
      deployment({ serviceAccountName: "prenv-tenant" }),
      /runs as the service account prenv-tenant/,
    ],
    [
      "a pod running as the vcluster",
      deployment({ serviceAccount: "vc-vcluster" }),
      /runs as the service account vc-vcluster/,
    ],
    [
      "a ServiceAccount named prenv-tenant",
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "prenv-tenant" },
        automountServiceAccountToken: true,
      },
      /prenv's own/,
    ],
  ])("%s", (_what, object, message) => {
    const result = parseTenantManifests([file("deploy/x.yaml", object)], options());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.message).join("\n")).toMatch(message);
  });

  it("sets the operator's class on an Ingress without one, and keeps neutral annotations", () => {
    const [obj] = accepted([
      file("deploy/x.yaml", ingress({ annotations: { "app.kubernetes.io/part-of": "web", note: "x" } })),
    ]);
    expect((obj!.object.spec as { ingressClassName: string }).ingressClassName).toBe("previews");
  });

  it("accepts a pod with a service account of the app's own", () => {
    expect(accepted([file("deploy/x.yaml", deployment({ serviceAccountName: "web" }))])).toHaveLength(1);
  });
});
