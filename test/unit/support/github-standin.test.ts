import { generateKeyPairSync, sign as rsaSign } from "node:crypto";
import { createRequire } from "node:module";
import { Octokit } from "@octokit/rest";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import type { PullRequest, PullRequestOpenedEvent } from "@octokit/webhooks-types";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { APP_ID, appPrivateKey, sign, verifyAppJwt, WEBHOOK_SECRET } from "../../support/app-key.js";
import { GitHubApiError, type GitHubStandIn, startGitHubStandIn } from "../../support/github-standin.js";

const NOW = new Date("2025-03-01T12:00:00.000Z");
let standIn: GitHubStandIn;
let octokit: Octokit;

beforeAll(async () => {
  standIn = await startGitHubStandIn({ now: () => NOW });
  octokit = new Octokit({ baseUrl: standIn.url });
});
afterEach(() => standIn.reset());
afterAll(() => standIn.close());

function verifyError(): string {
  try {
    standIn.verify();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("verify() did not throw");
}

/** Awaits a request that must fail and returns its error. */
async function failure(request: Promise<unknown>): Promise<unknown> {
  return request.then(
    () => {
      throw new Error("expected the request to fail");
    },
    (error: unknown) => error,
  );
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${standIn.url}${path}`, { headers });
}

async function send(method: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${standIn.url}${path}`, {
    method,
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify(body),
  });
}

describe("routes and verify()", () => {
  it("answers a call matching no route with 501 and verify() lists it", async () => {
    const response = await get("/repos/acme/web/labels?per_page=5");

    expect(response.status).toBe(501);
    expect(await response.json()).toMatchObject({
      message: expect.stringContaining("no route for GET") as string,
    });
    expect(standIn.unexpectedCalls).toMatchObject([
      { method: "GET", path: "/repos/acme/web/labels", query: { per_page: "5" } },
    ]);
    expect(verifyError()).toContain("unexpected call: GET /repos/acme/web/labels?per_page=5");
  });

  it("verify() reports a route that was never called, unless it is optional", () => {
    standIn.route("GET", "/repos/:owner/:repo/pulls/:pull_number", () => ({ body: {} }));
    standIn.route("GET", "/rate_limit", () => ({ body: {} }), { optional: true });

    const message = verifyError();

    expect(message).toContain("route GET /repos/:owner/:repo/pulls/:pull_number was never called");
    expect(message).not.toContain("/rate_limit");
  });

  it.each([
    { options: { times: 1 }, calls: 2, fails: true },
    { options: { times: 2 }, calls: 1, fails: true },
    { options: { times: 2 }, calls: 2, fails: false },
    { options: { times: 0 }, calls: 0, fails: false },
    { options: { times: 2, optional: true }, calls: 0, fails: false },
    { options: { times: 2, optional: true }, calls: 1, fails: true },
    { options: {}, calls: 3, fails: false },
  ])("with $options and $calls call(s), verify() fails: $fails", async ({ options, calls, fails }) => {
    standIn.route("GET", "/meta", () => ({ body: {} }), options);
    for (let call = 0; call < calls; call++) await get("/meta");

    if (fails)
      expect(verifyError()).toMatch(
        /route GET \/meta (expected exactly \d call\(s\), got \d|was never called)/,
      );
    else expect(() => standIn.verify()).not.toThrow();
  });

  it("gives the handler decoded params, the wildcard rest of the path, the query, the JSON body and headers", async () => {
    let seen: unknown;
    standIn.route("POST", "/repos/:owner/:repo/things/:path*", (request) => {
      seen = {
        params: request.params,
        query: Object.fromEntries(request.query),
        body: request.body,
        agent: request.headers["x-test"],
      };
      return { status: 201, body: { ok: true }, headers: { "X-Custom": "yes" } };
    });

    const response = await fetch(`${standIn.url}/repos/acme/web/things/a%20b/c%2Fd.txt?ref=main&x=1`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-test": "hello" },
      body: JSON.stringify({ name: "n" }),
    });

    expect(response.status).toBe(201);
    expect(response.headers.get("x-custom")).toBe("yes");
    expect(seen).toEqual({
      params: { owner: "acme", repo: "web", path: "a b/c/d.txt" },
      query: { ref: "main", x: "1" },
      body: { name: "n" },
      agent: "hello",
    });
    expect(standIn.calls).toMatchObject([
      { method: "POST", path: "/repos/acme/web/things/a%20b/c%2Fd.txt", body: { name: "n" }, status: 201 },
    ]);
    standIn.verify();
  });

  it("lets a later route take precedence, and replaces a route registered again with the same pattern", async () => {
    standIn.route("GET", "/repos/:owner/:repo", () => ({ body: { from: "general" } }));
    standIn.route("GET", "/repos/acme/:repo", () => ({ body: { from: "first acme" } }));
    standIn.route("GET", "/repos/acme/:repo", () => ({ body: { from: "acme" } }), { times: 1 });

    expect(await (await get("/repos/acme/web")).json()).toEqual({ from: "acme" });
    expect(await (await get("/repos/other/web")).json()).toEqual({ from: "general" });
    standIn.verify();
  });

  it("answers a thrown GitHubApiError as GitHub would, and reports any other throw as a problem", async () => {
    standIn.route("GET", "/forbidden", () => {
      throw new GitHubApiError(403, "Resource not accessible by integration");
    });
    standIn.route("GET", "/broken", () => {
      throw new Error("expected body to mention the preview URL");
    });

    const forbidden = await get("/forbidden");
    const broken = await get("/broken");

    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ message: "Resource not accessible by integration" });
    expect(broken.status).toBe(500);
    expect(standIn.problems()).toEqual([
      "handler of GET /broken threw on GET /broken: expected body to mention the preview URL",
    ]);
  });

  it("reset() forgets routes, calls and problems", async () => {
    standIn.route("GET", "/never", () => ({}));
    await get("/unexpected");

    standIn.reset();

    expect(standIn.calls).toEqual([]);
    expect(() => standIn.verify()).not.toThrow();
  });

  it("verify() lists the calls it received, to help read a failure", async () => {
    standIn.route("GET", "/meta", () => ({ body: {} }), { times: 2 });
    await get("/meta");

    expect(verifyError()).toContain("Calls received (1):\n  1. GET /meta -> 200");
  });
});

describe("issue comments", () => {
  it("lets Octokit paginate across pages via the Link header", async () => {
    const model = standIn.issueComments("acme", "web", 7, {
      expect: { list: { times: 3 + 9 }, create: { optional: true }, update: { optional: true } },
    });
    model.seedComments(250);
    const options = { owner: "acme", repo: "web", issue_number: 7 };

    const big = await octokit.paginate(octokit.rest.issues.listComments, { ...options, per_page: 100 });
    const small = await octokit.paginate(octokit.rest.issues.listComments, options);

    expect(big.map((comment) => comment.body)).toEqual(model.comments.map((comment) => comment.body));
    expect(big.at(-1)?.body).toBe("seeded comment 250");
    expect(small).toHaveLength(250);
    expect(standIn.calls.slice(0, 3).map((call) => call.query)).toEqual([
      { per_page: "100" },
      { per_page: "100", page: "2" },
      { per_page: "100", page: "3" },
    ]);
    standIn.verify();
  });

  it("formats the Link header exactly as GitHub does", async () => {
    standIn.issueComments("acme", "web", 7).seedComments(250);
    const base = `${standIn.url}/repos/acme/web/issues/7/comments`;

    const first = await get("/repos/acme/web/issues/7/comments?per_page=100");
    const middle = await get("/repos/acme/web/issues/7/comments?per_page=100&page=2");
    const last = await get("/repos/acme/web/issues/7/comments?page=9");
    const single = await get("/repos/acme/web/issues/7/comments?per_page=500");

    expect(first.headers.get("link")).toBe(
      `<${base}?per_page=100&page=2>; rel="next", <${base}?per_page=100&page=3>; rel="last"`,
    );
    expect(middle.headers.get("link")).toBe(
      `<${base}?per_page=100&page=1>; rel="prev", <${base}?per_page=100&page=3>; rel="next", ` +
        `<${base}?per_page=100&page=3>; rel="last", <${base}?per_page=100&page=1>; rel="first"`,
    );
    expect(last.headers.get("link")).toBe(`<${base}?page=8>; rel="prev", <${base}?page=1>; rel="first"`);
    expect(await last.json()).toHaveLength(250 - 8 * 30);
    expect(await single.json()).toHaveLength(100);
  });

  it("creates comments as the bot with increasing ids, edits them, and answers 404 for unknown ids", async () => {
    const model = standIn.issueComments("acme", "web", 7, { expect: { delete: { times: 1 } } });
    const options = { owner: "acme", repo: "web", issue_number: 7 };

    const first = await octokit.rest.issues.createComment({ ...options, body: "Preview: building" });
    const second = await octokit.rest.issues.createComment({ ...options, body: "second" });
    const edited = await octokit.rest.issues.updateComment({
      owner: "acme",
      repo: "web",
      comment_id: first.data.id,
      body: "Preview: ready",
    });
    const unknown = await failure(
      octokit.rest.issues.updateComment({ owner: "acme", repo: "web", comment_id: 1, body: "x" }),
    );
    await octokit.rest.issues.deleteComment({ owner: "acme", repo: "web", comment_id: second.data.id });
    const listed = await octokit.rest.issues.listComments(options);

    expect(first.status).toBe(201);
    expect(first.data).toMatchObject({
      body: "Preview: building",
      user: { login: "prenv[bot]", type: "Bot" },
      html_url: `https://github.com/acme/web/pull/7#issuecomment-${first.data.id}`,
      created_at: "2025-03-01T12:00:00Z",
    });
    expect(second.data.id).toBeGreaterThan(first.data.id);
    expect(edited.data.body).toBe("Preview: ready");
    expect(unknown).toMatchObject({ status: 404 });
    expect(listed.data.map((comment) => comment.body)).toEqual(["Preview: ready"]);
    expect(model.comments.map((comment) => comment.body)).toEqual(["Preview: ready"]);
    expect(model.deleted.map((comment) => comment.body)).toEqual(["second"]);
    standIn.verify();
  });

  it("rejects a comment GitHub would reject, and reports it", async () => {
    standIn.issueComments("acme", "web", 7, {
      expect: { list: { optional: true }, update: { optional: true } },
    });

    const response = await send("POST", "/repos/acme/web/issues/7/comments", { body: "x".repeat(65537) });

    expect(response.status).toBe(422);
    expect(verifyError()).toContain("GitHub would reject POST /repos/acme/web/issues/7/comments");
  });
});

describe("deployments", () => {
  it("creates deployments and statuses, filters the list, and marks prior deployments inactive", async () => {
    const model = standIn.deployments("acme", "web", { expect: { get: { optional: true } } });
    const sha = "a".repeat(40);
    const repo = { owner: "acme", repo: "web" };
    const older = model.seedDeployment(
      { ref: "feature", environment: "pr-7", transient_environment: false },
      [{ state: "success", environment_url: "https://old.example" }],
    );
    const failed = model.seedDeployment({ ref: "feature", environment: "pr-7" }, [{ state: "failure" }]);
    const transient = model.seedDeployment(
      { ref: "feature", environment: "pr-7", transient_environment: true },
      [{ state: "success" }],
    );
    const elsewhere = model.seedDeployment({ ref: "feature", environment: "pr-8" }, [{ state: "success" }]);

    const created = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: sha,
      environment: "pr-7",
      auto_merge: false,
      required_contexts: [],
      payload: { pr: 7 },
      production_environment: false,
    });
    const id = (created.data as { id: number }).id;
    await octokit.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state: "success",
      environment_url: "https://pr-7.preview.example",
      log_url: "https://logs.example/7",
      description: "Ready",
    });
    const bySha = await octokit.rest.repos.listDeployments({ ...repo, sha });
    const byEnvironment = await octokit.rest.repos.listDeployments({ ...repo, environment: "pr-7" });
    const statuses = await octokit.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: id });

    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      sha,
      ref: sha,
      environment: "pr-7",
      transient_environment: false,
      production_environment: false,
      payload: { pr: 7 },
    });
    expect(bySha.data.map((deployment) => deployment.id)).toEqual([id]);
    expect(byEnvironment.data.map((deployment) => deployment.id)).toEqual([
      id,
      transient.id,
      failed.id,
      older.id,
    ]);
    expect(statuses.data).toMatchObject([
      {
        state: "success",
        environment_url: "https://pr-7.preview.example",
        log_url: "https://logs.example/7",
      },
    ]);
    expect(model.latestStatus(older.id)?.state).toBe("inactive");
    expect(model.latestStatus(failed.id)?.state).toBe("failure");
    expect(model.latestStatus(transient.id)?.state).toBe("success");
    expect(model.latestStatus(elsewhere.id)?.state).toBe("success");
    standIn.verify();
  });

  it("answers 404 for a status on an unknown deployment and rejects an unknown state", async () => {
    standIn.deployments("acme", "web", {
      expect: { create: { optional: true }, list: { optional: true }, listStatuses: { optional: true } },
    });

    const unknown = await send("POST", "/repos/acme/web/deployments/42/statuses", { state: "success" });

    expect(unknown.status).toBe(404);
    standIn.verify();
    const model = standIn.deployments("acme", "api", {
      expect: { create: { optional: true }, list: { optional: true }, listStatuses: { optional: true } },
    });
    const { id } = model.seedDeployment({ ref: "main" });
    const invalid = await send("POST", `/repos/acme/api/deployments/${id}/statuses`, { state: "done" });

    expect(invalid.status).toBe(422);
    expect(verifyError()).toContain("state must be one of error, failure, inactive");
  });
});

describe("check runs", () => {
  it("creates, completes and lists check runs for a commit", async () => {
    const model = standIn.checkRuns("acme", "web");
    const repo = { owner: "acme", repo: "web" };
    const sha = "b".repeat(40);

    const created = await octokit.rest.checks.create({
      ...repo,
      name: "prenv",
      head_sha: sha,
      status: "in_progress",
    });
    await octokit.rest.checks.create({ ...repo, name: "other", head_sha: sha });
    const updated = await octokit.rest.checks.update({
      ...repo,
      check_run_id: created.data.id,
      conclusion: "success",
      output: { title: "Preview ready", summary: "https://pr-7.preview.example" },
    });
    const listed = await octokit.rest.checks.listForRef({ ...repo, ref: sha, check_name: "prenv" });

    expect(created.status).toBe(201);
    expect(updated.data).toMatchObject({
      status: "completed",
      conclusion: "success",
      completed_at: "2025-03-01T12:00:00Z",
      output: { title: "Preview ready", summary: "https://pr-7.preview.example" },
    });
    expect(listed.data.total_count).toBe(1);
    expect(listed.data.check_runs.map((run) => run.id)).toEqual([created.data.id]);
    expect(model.checkRuns.map((run) => run.name)).toEqual(["prenv", "other"]);
    standIn.verify();
  });

  it("rejects completing a check run without a conclusion, as GitHub does", async () => {
    standIn.checkRuns("acme", "web", {
      expect: { update: { optional: true }, listForRef: { optional: true } },
    });

    const response = await send("POST", "/repos/acme/web/check-runs", {
      name: "prenv",
      head_sha: "c".repeat(40),
      status: "completed",
    });

    expect(response.status).toBe(422);
    expect(verifyError()).toContain("conclusion is required");
  });
});

describe("contents and trees", () => {
  const files = {
    "README.md": "hello\n",
    "deploy/app.yaml": "kind: Deployment\n",
    "deploy/values/dev.yaml": "replicas: 1\n",
    "deploy-x/a.txt": "x\n",
  };
  const repo = { owner: "acme", repo: "web" };
  const sha = "d".repeat(40);

  it("serves files (base64 or raw), directory listings, and 404 for other paths and refs", async () => {
    standIn.contents("acme", "web", files, sha, { expect: { tree: { optional: true } } });

    const file = await octokit.rest.repos.getContent({ ...repo, path: "deploy/values/dev.yaml", ref: sha });
    const raw = await octokit.request("GET /repos/{owner}/{repo}/contents/{path}", {
      ...repo,
      path: "README.md",
      ref: sha,
      mediaType: { format: "raw" },
    });
    const dir = await octokit.rest.repos.getContent({ ...repo, path: "deploy", ref: sha });
    const missing = await failure(
      octokit.rest.repos.getContent({ ...repo, path: "deploy/nope.yaml", ref: sha }),
    );
    const otherRef = await failure(
      octokit.rest.repos.getContent({ ...repo, path: "README.md", ref: "e".repeat(40) }),
    );
    const defaultBranch = await failure(octokit.rest.repos.getContent({ ...repo, path: "README.md" }));

    expect(file.data).toMatchObject({ type: "file", encoding: "base64", name: "dev.yaml", size: 12 });
    const { content } = file.data as { content: string };
    expect(Buffer.from(content, "base64").toString("utf8")).toBe("replicas: 1\n");
    expect(raw.data).toBe("hello\n");
    expect(dir.data).toMatchObject([
      {
        type: "file",
        name: "app.yaml",
        path: "deploy/app.yaml",
        sha: "6c24b02fa77b35d6dbac97cab22e75e6021b674b",
      },
      { type: "dir", name: "values", path: "deploy/values", sha: "7697a309235bfb1f9d7f7ddb9fd2904e6f0fabcc" },
    ]);
    expect(missing).toMatchObject({
      status: 404,
      response: { data: { message: "Not Found" } },
    });
    expect(otherRef).toMatchObject({ status: 404 });
    expect(defaultBranch).toMatchObject({ status: 404 });
    standIn.verify();
  });

  it("serves the git tree with the object ids git computes, recursively on request", async () => {
    standIn.contents("acme", "web", files, sha, { expect: { get: { optional: true } } });

    const recursive = await octokit.rest.git.getTree({ ...repo, tree_sha: sha, recursive: "1" });
    const top = await octokit.rest.git.getTree({ ...repo, tree_sha: sha });
    const subtree = await octokit.rest.git.getTree({
      ...repo,
      tree_sha: "bdc122d401245863c29fa130f3d1a5cb62ab0b80",
    });

    // Expected ids and order from `git write-tree` and `git ls-tree -r -t` on the same files.
    expect(recursive.data.sha).toBe("801b0298af31fd01cdf74bd57fb1e74518bf0ad4");
    expect(recursive.data.truncated).toBe(false);
    expect(
      recursive.data.tree.map((entry) => `${entry.mode} ${entry.type} ${entry.sha} ${entry.path}`),
    ).toEqual([
      "100644 blob ce013625030ba8dba906f756967f9e9ca394464a README.md",
      "040000 tree 6ca2b082c4982a05d9978c0e48bfbae57de44389 deploy-x",
      "100644 blob 587be6b4c3f93f93c489c0111bba5596147a26cb deploy-x/a.txt",
      "040000 tree bdc122d401245863c29fa130f3d1a5cb62ab0b80 deploy",
      "100644 blob 6c24b02fa77b35d6dbac97cab22e75e6021b674b deploy/app.yaml",
      "040000 tree 7697a309235bfb1f9d7f7ddb9fd2904e6f0fabcc deploy/values",
      "100644 blob 3b3a9950e87cd299367ccf3355ef92980e582cb2 deploy/values/dev.yaml",
    ]);
    expect(top.data.tree.map((entry) => entry.path)).toEqual(["README.md", "deploy-x", "deploy"]);
    expect(subtree.data.tree.map((entry) => entry.path)).toEqual(["app.yaml", "values"]);
    standIn.verify();
  });
});

describe("pull request", () => {
  it("answers the pull request as it is now and lists its files page by page", async () => {
    const payload = pullRequestOpened();
    const model = standIn.pullRequest<PullRequest>(payload.pull_request, {
      files: ["deploy/app.yaml", ...Array.from({ length: 40 }, (_, index) => `src/${index}.ts`)],
    });
    const params = { owner: "Codertocat", repo: "Hello-World", pull_number: 2 };

    const open = await octokit.rest.pulls.get(params);
    model.pr.state = "closed";
    const closed = await octokit.rest.pulls.get(params);
    const changed = await octokit.paginate(octokit.rest.pulls.listFiles, params);

    expect(open.data.state).toBe("open");
    expect(closed.data.state).toBe("closed");
    expect(changed).toHaveLength(41);
    expect(changed[0]).toMatchObject({ filename: "deploy/app.yaml", status: "modified" });
    standIn.verify();
  });
});

describe("collaborator permission", () => {
  it.each([
    { login: "alice", permission: "admin", role: "admin" },
    { login: "Bob", permission: "write", role: "maintain" },
    { login: "carol", permission: "read", role: "triage" },
  ] as const)("answers $login as GitHub does: permission $permission, role_name $role", async (row) => {
    standIn.collaboratorPermission("acme", "web", { alice: "admin", bob: "maintain", carol: "triage" });

    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner: "acme",
      repo: "web",
      username: row.login,
    });

    expect(data).toMatchObject({ permission: row.permission, role_name: row.role });
    standIn.verify();
  });

  it("answers 404 for a user it does not know", async () => {
    standIn.collaboratorPermission("acme", "web", { alice: "admin" });

    const unknown = await failure(
      octokit.rest.repos.getCollaboratorPermissionLevel({
        owner: "acme",
        repo: "web",
        username: "mallory",
      }),
    );

    expect(unknown).toMatchObject({ status: 404 });
    standIn.verify();
  });
});

describe("installation auth and config, driven by the real Probot", () => {
  function testProbot(): Probot {
    return new Probot({
      appId: APP_ID,
      privateKey: appPrivateKey(),
      secret: WEBHOOK_SECRET,
      baseUrl: standIn.url,
      log: pino({ level: "silent" }),
      Octokit: ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } }),
    });
  }

  async function loadConfig(): Promise<unknown> {
    const probot = testProbot();
    let config: unknown = "not loaded";
    probot.on("pull_request.opened", async (context) => {
      config = await context.config("prenv.yml");
    });
    const event = { id: "delivery-1", name: "pull_request", payload: pullRequestOpened() };
    await probot.receive(event as unknown as Parameters<Probot["receive"]>[0]);
    return config;
  }

  it("issues an installation token to a JWT signed with the test key and reads .github/prenv.yml raw", async () => {
    const auth = standIn.installationAuth({ expect: { times: 1 } });
    standIn.configFile("Codertocat", "Hello-World", "ttl: 3d\n");

    const config = await loadConfig();

    expect(config).toEqual({ ttl: "3d" });
    expect(auth.tokens).toHaveLength(1);
    expect(auth.tokens[0]).toMatchObject({ installationId: 1, expiresAt: "2025-03-01T13:00:00Z" });
    expect(verifyAppJwt(auth.tokens[0]!.jwt).iss).toBe(APP_ID);
    const configCall = standIn.calls[1]!;
    expect(configCall).toMatchObject({
      method: "GET",
      path: "/repos/Codertocat/Hello-World/contents/.github%2Fprenv.yml",
      query: {},
    });
    expect(configCall.headers.accept).toBe("application/vnd.github.v3.raw");
    expect(configCall.headers.authorization).toBe(`token ${auth.tokens[0]!.token}`);
    standIn.verify();
  });

  it("falls back to the owner's .github repository when the repository has no config", async () => {
    standIn.installationAuth();
    standIn.configFile("Codertocat", "Hello-World", null, {
      orgText: "ttl: 1d\n",
      expect: { org: { times: 1 } },
    });

    expect(await loadConfig()).toEqual({ ttl: "1d" });
    expect(standIn.calls.map((call) => `${call.method} ${call.path} ${call.status}`).slice(-2)).toEqual([
      "GET /repos/Codertocat/Hello-World/contents/.github%2Fprenv.yml 404",
      "GET /repos/Codertocat/.github/contents/.github%2Fprenv.yml 200",
    ]);
    standIn.verify();
  });

  it("yields no config when neither repository has one", async () => {
    standIn.installationAuth();
    standIn.configFile("Codertocat", "Hello-World", null);

    expect(await loadConfig()).toBeNull();
    standIn.verify();
  });

  it("rejects a JWT signed with another key, and reports it", async () => {
    standIn.installationAuth();
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ iss: APP_ID, iat: 1, exp: 600 })}`;
    const jwt = `${unsigned}.${rsaSign("RSA-SHA256", Buffer.from(unsigned), privateKey).toString("base64url")}`;

    const response = await fetch(`${standIn.url}/app/installations/1/access_tokens`, {
      method: "POST",
      headers: { authorization: `bearer ${jwt}` },
    });

    expect(response.status).toBe(401);
    expect(verifyError()).toContain("not signed with the test App's private key");
  });

  it("reports a repository call that does not carry an issued installation token", async () => {
    standIn.installationAuth();
    standIn.collaboratorPermission("acme", "web", { alice: "admin" });

    await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner: "acme",
      repo: "web",
      username: "alice",
    });

    expect(standIn.problems()).toEqual([
      "GET /repos/acme/web/collaborators/alice/permission was not authenticated with an installation token " +
        "issued by the stand-in (authorization scheme: none)",
    ]);
  });

  it("fails the delivery at once on an unexpected call, without Octokit retrying it", async () => {
    standIn.installationAuth();
    const probot = testProbot();
    probot.on("pull_request.opened", async (context) => {
      await context.octokit.rest.issues.addLabels(context.issue({ labels: ["preview"] }));
    });
    const event = { id: "delivery-2", name: "pull_request", payload: pullRequestOpened() };

    await expect(probot.receive(event as unknown as Parameters<Probot["receive"]>[0])).rejects.toThrow();

    expect(standIn.unexpectedCalls.map((call) => `${call.method} ${call.path}`)).toEqual([
      "POST /repos/Codertocat/Hello-World/issues/2/labels",
    ]);
    expect(verifyError()).toContain("unexpected call: POST /repos/Codertocat/Hello-World/issues/2/labels");
  });

  it("signs webhook bodies so that the real Probot accepts them", async () => {
    const body = JSON.stringify(pullRequestOpened());

    const { webhooks } = await testProbot().ready();

    expect(await webhooks.verify(body, sign(body))).toBe(true);
    expect(await webhooks.verify(`${body} `, sign(body))).toBe(false);
  });
});

/** A `pull_request.opened` delivery with an installation, from @octokit/webhooks-examples. */
function pullRequestOpened(): PullRequestOpenedEvent {
  // The package's main is a JSON file; require() reads it the same way under vitest and plain Node.
  const webhookExamples = createRequire(import.meta.url)("@octokit/webhooks-examples") as WebhookDefinition[];
  const definition = webhookExamples.find((candidate) => candidate.name === "pull_request")!;
  const example = definition.examples.find(
    (candidate) => "action" in candidate && candidate.action === "opened" && "installation" in candidate,
  );
  return structuredClone(example as PullRequestOpenedEvent);
}

describe("prenv's App as an OAuth client (device flow on the web host, check-a-token on the API)", () => {
  const post = (url: string, body: string, headers: Record<string, string>) =>
    fetch(url, { method: "POST", headers, body });
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const json = { accept: "application/json", ...form };
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

  it("serves the device flow on the web host only, answering JSON or form-encoded as asked", async () => {
    const oauth = standIn.oauthApp({ interval: 5 });
    // The API host does not have it.
    expect((await post(`${standIn.url}/login/device/code`, `client_id=${oauth.clientId}`, form)).status).toBe(
      501,
    );
    const asForm = await post(`${standIn.webUrl}/login/device/code`, `client_id=${oauth.clientId}`, form);
    expect(asForm.headers.get("content-type")).toContain("application/x-www-form-urlencoded");
    const fields = new URLSearchParams(await asForm.text());
    expect(fields.get("verification_uri")).toBe(`${standIn.webUrl}/login/device`);
    expect(fields.get("user_code")).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(fields.get("device_code")).toMatch(/^[0-9a-f]{40}$/);
    expect([fields.get("expires_in"), fields.get("interval")]).toEqual(["899", "5"]);
    // Polled at once: too soon, so slow_down with 5 s more; GitHub answers errors with 200.
    const poll = `client_id=${oauth.clientId}&device_code=${fields.get("device_code")}&grant_type=urn:ietf:params:oauth:grant-type:device_code`;
    const early = await post(`${standIn.webUrl}/login/oauth/access_token`, poll, json);
    expect(early.status).toBe(200);
    expect(await early.json()).toMatchObject({ error: "slow_down", interval: 10 });
    standIn.reset();
  });

  it("refuses an unknown client id, a wrong grant type and a disabled device flow with GitHub's error codes", async () => {
    standIn.oauthApp({ deviceFlow: false });
    const disabled = await post(`${standIn.webUrl}/login/device/code`, "client_id=Iv23abc", json);
    expect([disabled.status, ((await disabled.json()) as { error: string }).error]).toEqual([
      400,
      "incorrect_client_credentials",
    ]);
    standIn.reset();
    const off = standIn.oauthApp({ deviceFlow: false, clientId: "Iv23off" });
    const res = await post(
      `${standIn.webUrl}/login/device/code`,
      JSON.stringify({ client_id: off.clientId }),
      {
        accept: "application/json",
        "content-type": "application/json",
      },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: "device_flow_disabled",
      error_description: "Device Flow must be explicitly enabled for this App",
    });
    const grant = await post(
      `${standIn.webUrl}/login/oauth/access_token`,
      `client_id=Iv23off&grant_type=password`,
      json,
    );
    expect(await grant.json()).toMatchObject({ error: "unsupported_grant_type" });
  });

  it("checks a token: 200 with its user and App for a live token of the App, 404 for any other token or wrong client credentials, 422 reported for no token", async () => {
    const oauth = standIn.oauthApp();
    const token = oauth.issueToken("bob");
    const check = (body: unknown, auth = basic(oauth.clientId, oauth.clientSecret), id = oauth.clientId) =>
      fetch(`${standIn.url}/applications/${id}/token`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const ok = await check({ access_token: token });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      token,
      token_last_eight: token.slice(-8),
      app: { client_id: oauth.clientId, name: "prenv" },
      user: { login: "bob", type: "User" },
      expires_at: "2025-03-01T20:00:00Z",
    });
    expect((await check({ access_token: "gho_someone_elses" })).status).toBe(404);
    expect((await check({ access_token: token }, basic(oauth.clientId, "wrong"))).status).toBe(404);
    expect(
      (await check({ access_token: token }, basic("Iv23other", oauth.clientSecret), "Iv23other")).status,
    ).toBe(404);
    expect((await check({})).status).toBe(422);
    expect(verifyError()).toContain("GitHub would reject POST /applications/");
    standIn.reset();
  });

  it("shows a user's token of the App only the repositories both the user and the App may see", async () => {
    const oauth = standIn.oauthApp();
    standIn.repository("acme", "web");
    standIn.repository("acme", "no-app", { installed: false });
    standIn.repository("acme", "public", { private: false, installed: false });
    standIn.collaboratorPermission("acme", "web", { bob: "write" }, { expect: { optional: true } });
    standIn.collaboratorPermission("acme", "no-app", { bob: "admin" }, { expect: { optional: true } });
    // A route the token's user may not reach is never run: GitHub answers 404 first.
    standIn.route("GET", "/repos/acme/web/pulls/1", () => ({ body: { number: 1 } }), { optional: true });
    const bob = new Octokit({ baseUrl: standIn.url, auth: oauth.issueToken("bob") });
    const dave = new Octokit({ baseUrl: standIn.url, auth: oauth.issueToken("dave") });
    const web = await bob.rest.repos.get({ owner: "acme", repo: "web" });
    expect(web.data.permissions).toEqual({
      admin: false,
      maintain: false,
      push: true,
      triage: true,
      pull: true,
    });
    expect(await failure(bob.rest.repos.get({ owner: "acme", repo: "no-app" }))).toMatchObject({
      status: 404,
    });
    expect(await failure(dave.rest.repos.get({ owner: "acme", repo: "web" }))).toMatchObject({ status: 404 });
    expect(await failure(dave.rest.pulls.get({ owner: "acme", repo: "web", pull_number: 1 }))).toMatchObject({
      status: 404,
    });
    const open = await dave.rest.repos.get({ owner: "acme", repo: "public" });
    expect(open.data.permissions).toMatchObject({ push: false, pull: true });
    standIn.verify();
  });
});
