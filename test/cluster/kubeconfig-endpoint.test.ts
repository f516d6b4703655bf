// Self-service kubeconfigs against the real API server: who gets one (the permission matrix, from
// GitHub's collaborator API behind the stand-in), what it can do there (its namespace and nothing
// else), how long it lives, and that the token shows up in no comment, log line or check run.
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  type KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { RawKube } from "../../src/adapters/kubernetes/raw.js";
import { IDENTITY } from "../../src/environment/state.js";
import { closeEndpoints, deployed, kubeconfigOf, tokenOf, USER_TOKENS } from "./harness/endpoint.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { expectApiError, ingressBody } from "./harness/k8s-helpers.js";
import { repoRoot } from "./harness/controlplane.js";
import { cleanupRigs, everythingPosted } from "./harness/pr-rig.js";

afterEach(async () => {
  await closeEndpoints();
  await cleanupRigs();
});

async function expiresAt(admin: KubeConfig, ns: string): Promise<number> {
  const n = await admin.makeApiClient(CoreV1Api).readNamespace({ name: ns });
  return Date.parse(n.metadata!.annotations![IDENTITY.expiresAt]!);
}

describe("the kubeconfig endpoint", () => {
  test("permission matrix: admin and write get a kubeconfig; read, none, a bad token or none at all are refused, saying why", async ({
    bot,
    admin,
  }) => {
    const { s, endpoint, path } = await deployed(bot, admin);
    const cases: [who: string, token: string | null, status: number, says: string][] = [
      ["admin", USER_TOKENS.alice!, 200, "kind: Config"],
      ["write", USER_TOKENS.bob!, 200, "kind: Config"],
      ["read", USER_TOKENS.carol!, 403, `carol has read access to ${s.owner}/${s.repo}`],
      // Told no more than a stranger to a private repository may know.
      ["none", USER_TOKENS.dave!, 404, "prenv is not installed there, or dave has no access to it"],
      ["an invalid token", "gho_not_a_real_token", 401, "GitHub did not accept this token"],
      ["no token", null, 401, "Authorization: Bearer"],
    ];
    for (const [who, token, status, says] of cases) {
      const res = await endpoint.get(path, token);
      expect(res.status, `${who}: ${res.body}`).toBe(status);
      expect(res.body, who).toContain(says);
      expect(res.headers.get("cache-control"), who).toBe("no-store");
    }
    // Malformed requests and other methods.
    expect((await endpoint.get(`/api/kubeconfig/${s.owner}/${s.repo}`, USER_TOKENS.bob)).status).toBe(400);
    expect((await endpoint.get(`${path}?ttl=5m`, USER_TOKENS.bob)).body).toContain("at least 10m");
    expect((await endpoint.get(`${path}?ttl=soon`, USER_TOKENS.bob)).status).toBe(400);
    const post = await fetch(`${endpoint.url}${path}`, { method: "POST" });
    expect(post.status).toBe(405);
    s.standIn.verify();
  });

  test("a PR that does not exist, a repository without the App, a closed PR and an expired environment are refused", async ({
    bot,
    admin,
  }) => {
    const { s, endpoint, path } = await deployed(bot, admin);
    s.standIn.route(
      "GET",
      `/repos/${s.owner}/${s.repo}/pulls/99`,
      () => ({ status: 404, body: { message: "Not Found" } }),
      { optional: true },
    );
    const missing = await endpoint.get(`/api/kubeconfig/${s.owner}/${s.repo}/99`, USER_TOKENS.bob);
    expect([missing.status, missing.body]).toEqual([404, `prenv: ${s.owner}/${s.repo}#99 does not exist.\n`]);
    s.standIn.repoInstallation(s.owner, "elsewhere", null);
    const other = await endpoint.get(`/api/kubeconfig/${s.owner}/elsewhere/7`, USER_TOKENS.bob);
    expect(other.status).toBe(404);
    expect(other.body).toBe(
      `prenv: ${s.owner}/elsewhere: the repository does not exist, prenv is not installed there, or bob has no access to it.\n`,
    );

    // Expired (the janitor has not come yet): refused, and so is less than 10 minutes of life.
    const expiry = await expiresAt(admin, s.ns);
    endpoint.setNow(new Date(expiry + 60_000));
    const expired = await endpoint.get(path, USER_TOKENS.bob);
    expect(expired.status).toBe(410);
    expect(expired.body).toContain("has expired");
    endpoint.setNow(new Date(expiry - 5 * 60_000));
    expect((await endpoint.get(path, USER_TOKENS.bob)).body).toContain("/env extend first");
    endpoint.setNow(null);

    (s.pr.pr as { state: string }).state = "closed";
    const closed = await endpoint.get(path, USER_TOKENS.bob);
    expect(closed.status).toBe(410);
    expect(closed.body).toContain("is closed");
    s.standIn.verify();
  });

  test("the kubeconfig works in its own namespace, and reaches no other namespace and nothing cluster-wide", async ({
    bot,
    admin,
    ns: otherPr,
  }) => {
    const { s, endpoint, path } = await deployed(bot, admin);
    // Another PR's environment on the same host.
    await new RawKube(admin).request("PATCH", `/api/v1/namespaces/${otherPr}`, {
      body: { metadata: { labels: { "app.kubernetes.io/managed-by": "prenv" } } },
      contentType: "application/merge-patch+json",
    });
    const res = await endpoint.get(path, USER_TOKENS.bob);
    expect(res.status).toBe(200);
    const kc = kubeconfigOf(res.body);
    expect(kc.getCurrentCluster()?.server).toBe(bot.getCurrentCluster()?.server);
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe(s.ns);

    const who = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(who.status?.userInfo?.username).toBe(`system:serviceaccount:${s.ns}:prenv-tenant`);
    const core = kc.makeApiClient(CoreV1Api);
    const names = (await core.listNamespacedConfigMap({ namespace: s.ns })).items.map(
      (c) => c.metadata?.name,
    );
    expect(names).toContain("extra");
    await core.listNamespacedPod({ namespace: s.ns });

    await expectApiError(core.listNamespacedConfigMap({ namespace: otherPr }), 403);
    await expectApiError(core.listNamespacedSecret({ namespace: "kube-system" }), 403);
    await expectApiError(core.listNamespace(), 403);
    await expectApiError(core.readNamespace({ name: s.ns }), 403);
    await expectApiError(
      kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
        namespace: s.ns,
        body: {
          metadata: { name: "grab" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subjects: [{ kind: "ServiceAccount", name: "prenv-tenant", namespace: s.ns }],
        },
      }),
      403,
    );
    await expectApiError(core.deleteNamespacedResourceQuota({ name: "prenv", namespace: s.ns }), 403);
    // kubectl exec and port-forward into its own pods; no token that would outlive the kubeconfig.
    const authz = kc.makeApiClient(AuthorizationV1Api);
    for (const subresource of ["exec", "portforward"]) {
      const review = await authz.createSelfSubjectAccessReview({
        body: {
          spec: { resourceAttributes: { verb: "create", resource: "pods", subresource, namespace: s.ns } },
        },
      });
      expect(review.status?.allowed, subresource).toBe(true);
    }
    const forever = await expectApiError(
      core.createNamespacedSecret({
        namespace: s.ns,
        body: {
          metadata: {
            name: "forever",
            annotations: { "kubernetes.io/service-account.name": "prenv-tenant" },
          },
          type: "kubernetes.io/service-account-token",
        },
      }),
      403,
    );
    expect(forever).toContain("prenv-no-legacy-tokens");
    // kubectl skips prenv's manifest checks, so the API server's own policy holds the Ingress hosts.
    const net = kc.makeApiClient(NetworkingV1Api);
    const ingress = (name: string, host: string) => ingressBody(name, host, "web");
    await net.createNamespacedIngress({
      namespace: s.ns,
      body: ingress("mine", `docs.${s.ns}.preview.test`),
    });
    const stolen = await expectApiError(
      net.createNamespacedIngress({ namespace: s.ns, body: ingress("theirs", `${otherPr}.preview.test`) }),
      403,
    );
    expect(stolen).toContain(`${s.ns}.preview.test or a subdomain of it`);

    // Deleting the environment revokes the token: its service account is gone with the namespace.
    (s.pr.pr as { state: string }).state = "closed";
    await s.rig.deliver("pull_request", { ...s.opened, action: "closed" });
    await s.rig.settle();
    const { eventually } = await import("./harness/k8s-helpers.js");
    await eventually("token refused after teardown", 30_000, () =>
      core.listNamespacedConfigMap({ namespace: s.ns }).then(
        () => false,
        (err: { code?: number }) => err.code === 401 || err.code === 403,
      ),
    );
    s.standIn.verify();
  });

  test("lifetime: 1h by default, what the caller asks within the operator's cap, never past the environment's expiry", async ({
    bot,
    admin,
  }) => {
    const { s, endpoint, path } = await deployed(bot, admin);
    const lifetime = async (query: string) => {
      const started = Date.now();
      const res = await endpoint.get(`${path}${query}`, USER_TOKENS.bob);
      expect(res.status, res.body).toBe(200);
      return (Date.parse(res.headers.get("x-prenv-expires-at")!) - started) / 60_000;
    };
    const minutes = (value: number, expected: number) => {
      expect(value).toBeGreaterThan(expected - 1);
      expect(value).toBeLessThan(expected + 1);
    };
    minutes(await lifetime(""), 60);
    minutes(await lifetime("?ttl=20m"), 20);
    minutes(await lifetime("?ttl=3d"), 12 * 60); // PRENV_KUBECONFIG_MAX_TTL
    // 30 minutes of life left: the token ends with the environment.
    endpoint.setNow(new Date((await expiresAt(admin, s.ns)) - 30 * 60_000));
    const res = await endpoint.get(`${path}?ttl=2h`, USER_TOKENS.bob);
    expect(res.status).toBe(200);
    const left = (Date.parse(res.headers.get("x-prenv-expires-at")!) - Date.now()) / 60_000;
    minutes(left, 30);
    expect(res.body).toContain("valid until");
    s.standIn.verify();
  });

  test("every kubeconfig issued is logged with user, PR and expiry, and no token is in any log line, comment or check run", async ({
    bot,
    admin,
  }) => {
    const { s, endpoint, path } = await deployed(bot, admin);
    const res = await endpoint.get(path, USER_TOKENS.alice);
    const token = tokenOf(res.body);
    expect(token.length).toBeGreaterThan(100);
    await endpoint.get(path, USER_TOKENS.carol);
    const lines = endpoint.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const issued = lines.find((l) => l.msg === "kubeconfig issued")!;
    expect(issued).toMatchObject({ user: "alice", repo: `${s.owner}/${s.repo}`, pr: "7", namespace: s.ns });
    expect(Date.parse(issued.expiresAt as string)).toBeGreaterThan(Date.now());
    expect(lines.find((l) => l.msg === "kubeconfig refused")).toMatchObject({
      user: "carol",
      code: "FORBIDDEN",
    });
    const everything = `${everythingPosted(s)}${endpoint.logs.join("\n")}`;
    expect(everything).not.toContain(token);
    for (const t of Object.values(USER_TOKENS)) expect(everything).not.toContain(t);
    // The comment tells how, and is no credential itself.
    const body = s.comments.comments[0]!.body;
    expect(body).toContain(
      `curl --fail-with-body -sS -H "Authorization: Bearer $(gh auth token)" https://prenv.example.test${path}`,
    );
    expect(body).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    // A later reconcile that changes nothing keeps the comment as it is, instructions included.
    const edits = () =>
      s.standIn.calls.filter((c) => c.method === "PATCH" && c.path.includes("/issues/comments/")).length;
    const before = edits();
    await s.rig.deliver("pull_request", { ...s.opened, action: "labeled" });
    await s.rig.settle();
    expect(s.comments.comments[0]!.body).toBe(body);
    expect(edits()).toBe(before);
    s.standIn.verify();
  });

  test("npx prenv kubeconfig writes a working kubeconfig (mode 0600), and says why when it is refused", async ({
    bot,
    admin,
  }) => {
    const { s, endpoint } = await deployed(bot, admin);
    const dir = mkdtempSync(join(tmpdir(), "prenv-cli-"));
    try {
      const file = join(dir, "pr-7.kubeconfig");
      // Asynchronously: the endpoint answering it runs in this process.
      const cli = (token: string, out: string) =>
        new Promise<{ status: number | null; stderr: string }>((resolve) => {
          execFile(
            process.execPath,
            ["bin/prenv.mjs", "kubeconfig", `${s.owner}/${s.repo}#7`, "--url", endpoint.url, "-o", out],
            {
              cwd: repoRoot,
              encoding: "utf8",
              env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_TOKEN: token },
              timeout: 60_000,
            },
            (err, _stdout, stderr) =>
              resolve({ status: err ? (typeof err.code === "number" ? err.code : null) : 0, stderr }),
          );
        });
      const ok = await cli(USER_TOKENS.bob!, file);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stderr).toContain("valid until");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const kc = kubeconfigOf(readFileSync(file, "utf8"));
      await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: s.ns });

      const refused = await cli(USER_TOKENS.carol!, join(dir, "no.kubeconfig"));
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain("carol has read access");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    s.standIn.verify();
  });
});
