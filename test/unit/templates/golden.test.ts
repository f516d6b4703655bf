// Golden files for what prenv renders from templates/: the namespace guards, the preview
// Ingress, and the PR comment in each state. Review a diff in test/unit/templates/golden/ as you
// would review the change to the cluster or to what users read.
import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../../../src/config/parse.js";
import { ingressObject, namespaceObjects } from "../../../src/environment/guards.js";
import { renderComment, type Report } from "../../../src/report/comment.js";
import { loadTemplates } from "../../../src/runtime/templates.js";
import { stringify } from "yaml";
import { testSettings } from "../../support/settings.js";

const t = loadTemplates();
const settings = testSettings().environment;
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
