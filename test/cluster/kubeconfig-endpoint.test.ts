// Self-service kubeconfigs against the real API server: who gets one (only users signed in to
// prenv's own GitHub App, checked with GitHub's check-a-token API first; then the permission
// matrix, as GitHub shows the repository to that user's token), what it can do there (its
// namespace and nothing else), how long it lives, and that the token shows up in no comment, log
// line or check run. The endpoint acts as its own Kubernetes identity, prenv-kubeconfig.
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  type KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { RawKube } from "../../src/adapters/kubernetes/raw.js";
import { closeEndpoints, deployed, kubeconfigOf, tokenOf, type Endpoint } from "./harness/endpoint.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { expectApiError, ingressBody } from "./harness/k8s-helpers.js";
import { repoRoot } from "./harness/controlplane.js";
import { cleanupRigs, everythingPosted, type Setup } from "./harness/pr-rig.js";

afterEach(async () => {
  await closeEndpoints();
  await cleanupRigs();
});

/** The GitHub calls made while `during` runs, as `host METHOD route` (repository names left out). */
async function githubCalls(s: Setup, during: () => Promise<unknown>): Promise<string[]> {
  const before = s.standIn.calls.length;
  await during();
  return s.standIn.calls
    .slice(before)
    .map((c) => `${c.host} ${c.route ?? `${c.method} ${c.path}`} -> ${c.status}`);
}

async function expiresAt(admin: KubeConfig, ns: string): Promise<number> {
  const n = await admin.makeApiClient(CoreV1Api).readNamespace({ name: ns });
  return Date.parse(n.metadata!.annotations!["prenv.dev/expires-at"]!);
}

describe("the kubeconfig endpoint", () => {
  test("permission matrix: admin and write get a kubeconfig; read, none, another app's token, a bad token or none at all are refused, saying why", async ({
    bot,
    admin,
    access,
  }) => {
    const { s, endpoint, path, users } = await deployed(bot, admin, access);
    const cases: [who: string, token: string | null, status: number, says: string][] = [
      ["admin", users.tokens.alice, 200, "kind: Config"],
      ["write", users.tokens.bob, 200, "kind: Config"],
      ["read", users.tokens.carol, 403, `carol has read access to ${s.owner}/${s.repo}`],
      // Told no more than a stranger to a private repository may know.
      ["none", users.tokens.dave, 404, "prenv is not installed there, or dave has no access to it"],
      // Bob has write access, but this token belongs to another OAuth app (or the GitHub CLI).
      ["another app's token", users.foreignToken, 401, "not accepted"],
      [
        "an invalid token",
        "gho_not_a_real_token",
        401,
        "did not confirm this as a token of prenv's GitHub App",
      ],
      ["no token", null, 401, "Authorization: Bearer"],
    ];
    for (const [who, token, status, says] of cases) {
      const res = await endpoint.get(path, token);
      expect(res.status, `${who}: ${res.body}`).toBe(status);
      expect(res.body, who).toContain(says);
      expect(res.headers.get("cache-control"), who).toBe("no-store");
    }
    // Malformed requests and other methods.
    expect((await endpoint.get(`/api/kubeconfig/${s.owner}/${s.repo}`, users.tokens.bob)).status).toBe(400);
    expect((await endpoint.get(`${path}?ttl=5m`, users.tokens.bob)).body).toContain("at least 10m");
    expect((await endpoint.get(`${path}?ttl=soon`, users.tokens.bob)).status).toBe(400);
    const post = await fetch(`${endpoint.url}${path}`, { method: "POST" });
    expect(post.status).toBe(405);
    s.standIn.verify();
  });

  test("every token is checked with GitHub's check-a-token API, with the App's client credentials, before anything else", async ({
    bot,
    admin,
    access,
  }) => {
    const { s, endpoint, path, users } = await deployed(bot, admin, access);
    const foreign = await githubCalls(s, () => endpoint.get(path, users.foreignToken));
    expect(foreign).toEqual(["api POST /applications/:client_id/token -> 404"]);
    const expected = `basic ${Buffer.from(`${users.oauth.clientId}:${users.oauth.clientSecret}`).toString("base64")}`;
    const check = s.standIn.calls.at(-1)!;
    expect(check.headers.authorization?.toLowerCase()).toBe(expected.toLowerCase());
    expect(check.body).toEqual({ access_token: users.foreignToken });
    // A token of prenv's App: checked first, then the repository and the PR with the user's own token.
    const bob = await githubCalls(s, () => endpoint.get(path, users.tokens.bob));
    expect(bob).toEqual([
      "api POST /applications/:client_id/token -> 200",
      `api GET /repos/${s.owner}/${s.repo} -> 200`,
      `api GET /repos/${s.owner}/${s.repo}/pulls/7 -> 200`,
    ]);
    expect(s.standIn.calls.at(-1)!.headers.authorization).toBe(`token ${users.tokens.bob}`);
    // An expired token of prenv's App is refused as well.
    const stale = users.oauth.tokens.get(users.tokens.carol)!;
    users.oauth.tokens.set(users.tokens.carol, { ...stale, expiresAt: Date.now() - 1000 });
    expect((await endpoint.get(path, users.tokens.carol)).status).toBe(401);
    s.standIn.verify();
  });

  test('"not installed", "no access" and "no such repository" are one answer after the same GitHub calls', async ({
    bot,
    admin,
    access,
  }) => {
    const { s, endpoint, path, users } = await deployed(bot, admin, access);
    // Bob may write to a private repository that prenv's App is not installed on.
    s.standIn.repository(s.owner, "no-app", { installed: false });
    s.standIn.collaboratorPermission(s.owner, "no-app", { bob: "write" }, { expect: { optional: true } });
    const cases = [
      ["no access", users.tokens.dave, path],
      ["not installed", users.tokens.bob, `/api/kubeconfig/${s.owner}/no-app/7`],
      ["no such repository", users.tokens.bob, `/api/kubeconfig/${s.owner}/does-not-exist/7`],
    ] as const;
    const seen: { who: string; calls: string[]; status: number; body: string }[] = [];
    for (const [who, token, where] of cases) {
      let res: Awaited<ReturnType<Endpoint["get"]>> | undefined;
      const calls = await githubCalls(s, async () => (res = await endpoint.get(where, token)));
      seen.push({
        who,
        // Repository and user names differ by construction; what GitHub was asked must not.
        calls: calls.map((c) => c.replace(/\/repos\/[^/ ]+\/[^/ ]+/, "/repos/:o/:r")),
        status: res!.status,
        body: res!.body
          .replace(/acme\/[^:]+:/, "<repo>:")
          .replace(/or \w+ has no access/, "or <user> has no access"),
      });
    }
    expect(seen[0]!.calls).toEqual([
      "api POST /applications/:client_id/token -> 200",
      "api GET /repos/:o/:r -> 404",
    ]);
    for (const other of seen.slice(1)) {
      expect({ ...other, who: seen[0]!.who }).toEqual(seen[0]);
    }
    expect(seen[0]!.status).toBe(404);
    s.standIn.verify();
  });

  test("a PR that does not exist, a repository without the App, a closed PR and an expired environment are refused", async ({
    bot,
    admin,
    access,
  }) => {
    const { s, endpoint, path, users } = await deployed(bot, admin, access);
    s.standIn.route(
      "GET",
      `/repos/${s.owner}/${s.repo}/pulls/99`,
      () => ({ status: 404, body: { message: "Not Found" } }),
      { optional: true },
    );
    const missing = await endpoint.get(`/api/kubeconfig/${s.owner}/${s.repo}/99`, users.tokens.bob);
    expect([missing.status, missing.body]).toEqual([404, `prenv: ${s.owner}/${s.repo}#99 does not exist.\n`]);
    s.standIn.repository(s.owner, "elsewhere", { installed: false });
    const other = await endpoint.get(`/api/kubeconfig/${s.owner}/elsewhere/7`, users.tokens.bob);
    expect(other.status).toBe(404);
    expect(other.body).toBe(
      `prenv: ${s.owner}/elsewhere: the repository does not exist, prenv is not installed there, or bob has no access to it.\n`,
    );

    // Expired (the janitor has not come yet): refused, and so is less than 10 minutes of life.
    const expiry = await expiresAt(admin, s.ns);
    endpoint.setNow(new Date(expiry + 60_000));
    const expired = await endpoint.get(path, users.tokens.bob);
    expect(expired.status).toBe(410);
    expect(expired.body).toContain("has expired");
    endpoint.setNow(new Date(expiry - 5 * 60_000));
    expect((await endpoint.get(path, users.tokens.bob)).body).toContain("/env extend first");
    endpoint.setNow(null);

    (s.pr.pr as { state: string }).state = "closed";
    const closed = await endpoint.get(path, users.tokens.bob);
    expect(closed.status).toBe(410);
    expect(closed.body).toContain("is closed");
    s.standIn.verify();
  });

  test("the kubeconfig works in its own namespace, and reaches no other namespace and nothing cluster-wide", async ({
    bot,
    admin,
    access,
    ns: otherPr,
  }) => {
    const { s, endpoint, path, users } = await deployed(bot, admin, access);
    // Another PR's environment on the same host.
    await new RawKube(admin).request("PATCH", `/api/v1/namespaces/${otherPr}`, {
      body: { metadata: { labels: { "app.kubernetes.io/managed-by": "prenv" } } },
      contentType: "application/merge-patch+json",
    });
    const res = await endpoint.get(path, users.tokens.bob);
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

  test("lifetime: 1h by default, what the caller asks within the operator's cap (8 h by default), never past the environment's expiry", async ({
    bot,
    admin,
    access,
  }) => {
    const { s, endpoint, path, users } = await deployed(bot, admin, access);
    const lifetime = async (query: string) => {
      const started = Date.now();
      const res = await endpoint.get(`${path}${query}`, users.tokens.bob);
      expect(res.status, res.body).toBe(200);
      return (Date.parse(res.headers.get("x-prenv-expires-at")!) - started) / 60_000;
    };
    const minutes = (value: number, expected: number) => {
      expect(value).toBeGreaterThan(expected - 1);
      expect(value).toBeLessThan(expected + 1);
    };
    minutes(await lifetime(""), 60);
    minutes(await lifetime("?ttl=20m"), 20);
    minutes(await lifetime("?ttl=3d"), 8 * 60); // PRENV_KUBECONFIG_MAX_TTL's default
    // 30 minutes of life left: the token ends with the environment.
    endpoint.setNow(new Date((await expiresAt(admin, s.ns)) - 30 * 60_000));
    const res = await endpoint.get(`${path}?ttl=2h`, users.tokens.bob);
    expect(res.status).toBe(200);
    const left = (Date.parse(res.headers.get("x-prenv-expires-at")!) - Date.now()) / 60_000;
    minutes(left, 30);
    expect(res.body).toContain("valid until");
    s.standIn.verify();
  });

  test("every kubeconfig issued is logged with user, PR and expiry, and no token is in any log line, comment or check run", async ({
    bot,
    admin,
    access,
  }) => {
    const { s, endpoint, path, users } = await deployed(bot, admin, access);
    const res = await endpoint.get(path, users.tokens.alice);
    const token = tokenOf(res.body);
    expect(token.length).toBeGreaterThan(100);
    await endpoint.get(path, users.tokens.carol);
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
    for (const t of [...Object.values(users.tokens), users.foreignToken]) expect(everything).not.toContain(t);
    // The comment tells how, and is no credential itself.
    const body = s.comments.comments[0]!.body;
    expect(body).toContain(
      `curl --fail-with-body -sS -H "Authorization: Bearer $(npx prenv token --url https://prenv.example.test)" https://prenv.example.test${path}`,
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

  test("npx prenv kubeconfig signs in with GitHub's device flow and writes a working kubeconfig (mode 0600), keeping no token on disk; --token-env takes only a token of prenv's App; --token-cache reuses one", async ({
    bot,
    admin,
    access,
  }) => {
    const { s, endpoint, users } = await deployed(bot, admin, access);
    const home = mkdtempSync(join(tmpdir(), "prenv-cli-"));
    const deviceCodes = () => s.standIn.calls.filter((c) => c.path === "/login/device/code").length;
    try {
      // Asynchronously: the endpoint answering it runs in this process. GITHUB_TOKEN and GH_TOKEN
      // hold tokens of other apps: the CLI must not pick them up by itself.
      const cli = (args: string[], extraEnv: Record<string, string> = {}, signInAs?: string) =>
        new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ["bin/prenv.mjs", "kubeconfig", `${s.owner}/${s.repo}#7`, "--url", endpoint.url, ...args],
            {
              cwd: repoRoot,
              env: {
                PATH: process.env.PATH,
                HOME: home,
                GITHUB_TOKEN: users.foreignToken,
                GH_TOKEN: users.foreignToken,
                ...extraEnv,
              },
              stdio: ["ignore", "ignore", "pipe"],
            },
          );
          let stderr = "";
          let signedIn = false;
          child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
            const code = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(stderr)?.[1];
            if (code && signInAs && !signedIn) {
              signedIn = true;
              users.oauth.authorize(code, signInAs);
            }
          });
          const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
          child.on("error", reject);
          child.on("exit", (status) => {
            clearTimeout(timer);
            resolve({ status, stderr });
          });
        });

      const file = join(home, "pr-7.kubeconfig");
      const ok = await cli(["-o", file], {}, "bob");
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stderr).toContain(`open ${s.standIn.webUrl}/login/device and enter the code`);
      expect(ok.stderr).toContain("valid until");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const kc = kubeconfigOf(readFileSync(file, "utf8"));
      await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: s.ns });
      // Nothing but the kubeconfig asked for was written.
      expect(readdirSync(home)).toEqual(["pr-7.kubeconfig"]);

      const refused = await cli(["-o", join(home, "no.kubeconfig")], {}, "carol");
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain("carol has read access");
      expect(existsSync(join(home, "no.kubeconfig"))).toBe(false);

      // Automation: a token named explicitly, still checked with check-a-token.
      const signIns = deviceCodes();
      const foreign = await cli(["--token-env", "CI_PRENV_TOKEN", "-o", join(home, "ci.kubeconfig")], {
        CI_PRENV_TOKEN: users.foreignToken,
      });
      expect(foreign.status).toBe(2);
      expect(foreign.stderr).toContain("did not confirm this as a token of prenv's GitHub App");
      const automated = await cli(["--token-env", "CI_PRENV_TOKEN", "-o", join(home, "ci.kubeconfig")], {
        CI_PRENV_TOKEN: users.tokens.bob,
      });
      expect(automated.status, automated.stderr).toBe(0);
      expect(deviceCodes()).toBe(signIns);

      // Asked for: a token cache (mode 0600), reused by the next run without signing in again.
      const cache = join(home, "prenv-token.json");
      const first = await cli(["--token-cache", cache, "-o", join(home, "a.kubeconfig")], {}, "alice");
      expect(first.status, first.stderr).toBe(0);
      expect(statSync(cache).mode & 0o777).toBe(0o600);
      const afterFirst = deviceCodes();
      const second = await cli(["--token-cache", cache, "-o", join(home, "b.kubeconfig")]);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stderr).not.toContain("enter the code");
      expect(deviceCodes()).toBe(afterFirst);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    s.standIn.verify();
  });
});
