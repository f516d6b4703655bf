// Namespace preview environments end to end: real Probot + signed real webhook payloads, the
// GitHub stand-in at the HTTP boundary (fails on unexpected or unused calls), prenv's queue and
// worker, and the real API server with the bot's production RBAC.
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, inject } from "vitest";
import { namespaceName } from "../../src/environment/naming.js";
import { COMMENT_MARKER } from "../../src/report/comment.js";
import { testSettings } from "../support/settings.js";
import { examplePayload, pullRequestPayload } from "../support/payloads.js";
import type { E2E } from "../support/e2e.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually } from "./harness/k8s-helpers.js";
import {
  CONFIG,
  SHA1,
  SHA2,
  cleanupRigs,
  command,
  commandRoutes,
  deleteAfterTest,
  type Setup,
  configMaps,
  everythingPosted,
  extraConfigMap,
  namespaceExists,
  push,
  setup,
  web,
} from "./harness/pr-rig.js";
import { app, tagImage } from "./harness/workloads.js";

afterEach(cleanupRigs);

/** One janitor pass over `namespace` only, with the real adapters, enqueueing into the rig's queue. */
async function janitorPass(bot: KubeConfig, rig: E2E, namespace: string, now: Date = new Date()) {
  const { runSweep } = await import("../../src/runtime/janitor.js");
  const { KubernetesCluster } = await import("../../src/adapters/kubernetes/cluster.js");
  return runSweep({
    probot: rig.probot,
    cluster: new KubernetesCluster(bot),
    enqueue: (job) => rig.queue.enqueue(job),
    prices: testSettings().environment.prices,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => now,
    only: (e) => e.name === namespace,
  });
}

describe("namespace preview environments", () => {
  test("a repository without .github/prenv.yml gets nothing", async ({ bot, admin }) => {
    const s = await setup(bot, admin, { config: null });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    expect(s.comments.comments).toEqual([]);
    expect(s.deployments.deployments).toEqual([]);
    expect(s.checks.checkRuns).toEqual([]);
    s.standIn.verify();
  });

  test("an invalid config gets one comment and a failed check listing every problem, and nothing is created", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, {
      config: "isolation: vm\nttl: forever\nresources: { pods: 0 }\ntll: 3h\n",
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    expect(s.comments.comments).toHaveLength(1);
    const body = s.comments.comments[0]!.body;
    expect(body).toContain("invalid configuration");
    for (const where of ["`isolation`", "`ttl`", "`resources.pods`", "`tll`"]) expect(body).toContain(where);
    expect(body).toContain("did you mean 'ttl'");
    expect(s.checks.checkRuns).toHaveLength(1);
    expect(s.checks.checkRuns[0]).toMatchObject({
      status: "completed",
      conclusion: "failure",
      head_sha: SHA1,
    });
    expect(s.deployments.deployments).toEqual([]);
    s.standIn.verify();
  });

  test("_extends is followed within the owner only: another owner's base is never read, and a missing one is named on the PR", async ({
    bot,
    admin,
  }) => {
    // Another owner's base would take over deploy.path and ttl: it is never even requested (the
    // stand-in fails on unexpected calls).
    const foreign = await setup(bot, admin, { config: "_extends: evil/base\nttl: 1d\n" });
    await foreign.rig.deliver("pull_request", foreign.opened);
    await foreign.rig.settle();
    expect(await namespaceExists(admin, foreign.ns)).toBe(false);
    expect(foreign.comments.comments[0]!.body).toContain("invalid configuration");
    expect(foreign.comments.comments[0]!.body).toContain("names a repository of another owner ('evil')");
    foreign.standIn.verify();

    const missing = await setup(bot, admin, { config: "_extends: shared\nttl: 1d\n" });
    missing.standIn.configFile(missing.owner, "shared", null, { expect: { repo: { optional: true } } });
    await missing.rig.deliver("pull_request", missing.opened);
    await missing.rig.settle();
    expect(await namespaceExists(admin, missing.ns)).toBe(false);
    expect(missing.comments.comments[0]!.body).toContain(
      `_extends names ${missing.owner}/shared:.github/prenv.yml, which does not exist`,
    );
  });

  test("open deploys; push redeploys at the new SHA and prunes; a duplicate delivery changes nothing; close removes everything", async ({
    bot,
    admin,
    node,
  }) => {
    // The PR's CI pushed an image per commit; its pods run on the node and pass their readiness probe.
    for (const sha of [SHA1, SHA2]) tagImage(node, node.images.web!, `prenv.test/web:${sha.slice(0, 7)}`);
    const webYaml = app({ image: "prenv.test/web:{{shortSha}}" });
    const s = await setup(bot, admin, {
      files: {
        "deploy/preview/web.yaml": webYaml,
        "deploy/preview/extra.yml": extraConfigMap,
        "README.md": "# hi",
      },
      rolloutSeconds: 60,
    });

    // open
    await s.rig.deliver("pull_request", s.opened, "open-1");
    await s.rig.settle();
    const core = admin.makeApiClient(CoreV1Api);
    const nsObj = await core.readNamespace({ name: s.ns });
    expect(nsObj.metadata?.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "prenv",
      "prenv.dev/pr": "7",
      "pod-security.kubernetes.io/enforce": "restricted",
    });
    expect(nsObj.metadata?.annotations).toMatchObject({
      "prenv.dev/repository": `${s.owner}/${s.repo}`,
      "prenv.dev/state": "ready",
      "prenv.dev/deployed-sha": SHA1,
    });
    expect(
      (await core.readNamespacedResourceQuota({ name: "prenv", namespace: s.ns })).spec?.hard?.[
        "requests.cpu"
      ],
    ).toBe("2");
    const binding = await admin
      .makeApiClient(RbacAuthorizationV1Api)
      .readNamespacedRoleBinding({ name: "prenv-tenant", namespace: s.ns });
    expect(binding.subjects?.[0]?.name).toBe("prenv-tenant");
    const deployment = await admin
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "web", namespace: s.ns });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe("prenv.test/web:1111111");
    expect(deployment.status?.readyReplicas).toBe(1);
    // Applied as the tenant, with prenv as the field manager.
    const appliers = deployment.metadata?.managedFields
      ?.filter((f) => f.operation === "Apply")
      .map((f) => f.manager);
    expect(appliers).toEqual(["prenv"]);
    const extra = await core.readNamespacedConfigMap({ name: "extra", namespace: s.ns });
    const host = `${s.ns}.preview.test`;
    expect(extra.data).toEqual({ pr: "7", host });
    const ingress = await admin
      .makeApiClient((await import("@kubernetes/client-node")).NetworkingV1Api)
      .readNamespacedIngress({ name: "prenv-preview", namespace: s.ns });
    expect(ingress.spec?.rules?.[0]?.host).toBe(host);

    expect(s.comments.comments).toHaveLength(1);
    const comment = s.comments.comments[0]!;
    expect(comment.body.startsWith(COMMENT_MARKER)).toBe(true);
    expect(comment.body).toContain(`https://${host}/`);
    expect(comment.body).toContain("`1111111`");
    expect(s.deployments.deployments).toHaveLength(1);
    expect(s.deployments.deployments[0]).toMatchObject({
      sha: SHA1,
      environment: "pr-7",
      transient_environment: true,
      production_environment: false,
    });
    expect(s.deployments.latestStatus(s.deployments.deployments[0]!.id)).toMatchObject({
      state: "success",
      environment_url: `https://${host}/`,
    });
    expect(s.checks.checkRuns).toHaveLength(1);
    expect(s.checks.checkRuns[0]).toMatchObject({
      head_sha: SHA1,
      status: "completed",
      conclusion: "success",
      name: "prenv",
    });

    // duplicate delivery (same id) and a repeated event (new id): no new comment, objects or writes
    const writes = () =>
      s.standIn.calls.filter((c) => c.method !== "GET" && !c.path.includes("access_tokens")).length;
    const writesBefore = writes();
    const versionBefore = (await core.readNamespacedConfigMap({ name: "extra", namespace: s.ns })).metadata
      ?.resourceVersion;
    await s.rig.deliver("pull_request", s.opened, "open-1");
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("labeled", { owner: s.owner, repo: s.repo, number: 7, sha: SHA1 }),
    );
    await s.rig.settle();
    expect(writes()).toBe(writesBefore);
    expect(
      (await core.readNamespacedConfigMap({ name: "extra", namespace: s.ns })).metadata?.resourceVersion,
    ).toBe(versionBefore);
    expect(s.comments.comments).toHaveLength(1);

    // push: extra.yml removed, web changed
    await s.rig.deliver("pull_request", push(s, SHA2, { "deploy/preview/web.yaml": webYaml }));
    await s.rig.settle();
    expect(await configMaps(admin, s.ns)).toEqual([]);
    const redeployed = await admin
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "web", namespace: s.ns });
    expect(redeployed.spec?.template.spec?.containers[0]?.image).toBe("prenv.test/web:2222222");
    expect(redeployed.status?.readyReplicas).toBe(1);
    expect((await core.readNamespace({ name: s.ns })).metadata?.annotations?.["prenv.dev/deployed-sha"]).toBe(
      SHA2,
    );
    expect(s.comments.comments).toHaveLength(1);
    expect(s.comments.comments[0]!.body).toContain("`2222222`");
    expect(s.deployments.deployments.map((d) => d.sha).sort()).toEqual([SHA1, SHA2]);
    expect(s.checks.checkRuns.find((c) => c.head_sha === SHA2)).toMatchObject({ conclusion: "success" });

    // close
    (s.pr.pr as { state: string }).state = "closed";
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("closed", { owner: s.owner, repo: s.repo, number: 7, sha: SHA2, state: "closed" }),
    );
    await s.rig.settle();
    await eventually(`${s.ns} deleted`, 60_000, async () => !(await namespaceExists(admin, s.ns)));
    expect(s.comments.comments).toHaveLength(1);
    expect(s.comments.comments[0]!.body).toContain("deleted");
    expect(s.comments.comments[0]!.body).not.toContain(host);
    for (const d of s.deployments.deployments)
      expect(s.deployments.latestStatus(d.id)?.state).toBe("inactive");

    // reopen (once the namespace controller has finished): recreated at the head commit
    await eventually(`${s.ns} gone`, 60_000, () =>
      core.readNamespace({ name: s.ns }).then(
        () => false,
        () => true,
      ),
    );
    (s.pr.pr as { state: string }).state = "open";
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("reopened", { owner: s.owner, repo: s.repo, number: 7, sha: SHA2 }),
    );
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(true);
    expect((await core.readNamespace({ name: s.ns })).metadata?.annotations?.["prenv.dev/state"]).toBe(
      "ready",
    );
    expect(s.comments.comments).toHaveLength(1);
    expect(s.comments.comments[0]!.body).toContain("ready");

    // No token, key or credential anywhere we wrote.
    const posted = everythingPosted(s);
    for (const t of s.auth.tokens) expect(posted).not.toContain(t.token);
    expect(posted).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|eyJ[A-Za-z0-9_-]{10,}\.|ghs_/);
    s.standIn.verify();
  });

  test("waits for the checks in deploy.waitForChecks, then deploys when they pass (found among 120 other comments)", async ({
    bot,
    admin,
  }) => {
    const config = CONFIG.replace(
      "  path: deploy/preview\n",
      "  path: deploy/preview\n  waitForChecks: [build-image]\n",
    );
    const s = await setup(bot, admin, { config });
    s.comments.seedComments(120);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    const ours = () => s.comments.comments.filter((c) => c.body.startsWith(COMMENT_MARKER));
    expect(ours()).toHaveLength(1);
    expect(ours()[0]!.body).toContain("Waiting for: build-image");

    // The image build (another app's check run) completes on the head commit.
    const build = structuredClone(s.checks.checkRuns[0]!);
    Object.assign(build, {
      id: 99,
      name: "build-image",
      status: "completed",
      conclusion: "success",
      app: { id: 1, slug: "ci", name: "CI" },
    });
    s.checks.checkRuns.push(build);
    const event = examplePayload("check_run", "completed");
    const run = event.check_run as {
      head_sha: string;
      app: { id: number };
      pull_requests: { number: number }[];
    };
    run.head_sha = SHA1;
    run.app.id = 1;
    run.pull_requests = [{ ...run.pull_requests[0]!, number: 7 }];
    event.repository = s.opened.repository;
    await s.rig.deliver("check_run", event);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(true);
    expect(ours()).toHaveLength(1);
    expect(ours()[0]!.body).toContain("ready");
    expect(s.comments.comments).toHaveLength(121);
    s.standIn.verify();
  });

  test("a PR closed while its deployment is under way leaves nothing behind", async ({ bot, admin }) => {
    const s = await setup(bot, admin);
    // The deploy job reads the PR once, open; the close event arrives while it runs and queues
    // behind it in the PR's group; its job reads the PR closed.
    let reads = 0;
    s.standIn.route("GET", "/repos/:owner/:repo/pulls/:number", () => {
      reads++;
      return { body: { ...(s.pr.pr as object), state: reads === 1 ? "open" : "closed" } };
    });
    const closed = pullRequestPayload("closed", {
      owner: s.owner,
      repo: s.repo,
      number: s.number,
      sha: SHA1,
      state: "closed",
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.deliver("pull_request", closed);
    await s.rig.settle();
    // Each job reads the PR once: the deploy (open), the close (closed), and a rollout follow-up if
    // the deploy's first look found the rollout still going (closed: it does nothing).
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(reads).toBeLessThanOrEqual(3);
    await eventually(`${s.ns} deleted`, 60_000, async () => !(await namespaceExists(admin, s.ns)));
    expect(s.comments.comments).toHaveLength(1);
    expect(s.comments.comments[0]!.body).toContain("The pull request was closed.");
    expect(s.deployments.deployments).toHaveLength(1);
    for (const d of s.deployments.deployments)
      expect(s.deployments.latestStatus(d.id)?.state).toBe("inactive");
    // The stand-in's own pull-request routes were replaced by the override above.
    expect(s.standIn.problems().filter((p) => !p.includes("/pulls/"))).toEqual([]);
  });

  test.for<[string, string, RegExp]>([
    [
      "a ClusterRoleBinding",
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: grab }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }\nsubjects: [{ kind: ServiceAccount, name: default, namespace: default }]\n`,
      /ClusterRoleBinding/,
    ],
    [
      "a privileged hostPath pod",
      `apiVersion: v1\nkind: Pod\nmetadata: { name: root }\nspec:\n  containers: [{ name: c, image: x, securityContext: { privileged: true } }]\n  volumes: [{ name: h, hostPath: { path: / } }]\n`,
      /hostPath|privileged/,
    ],
    [
      "an object in another namespace",
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: elsewhere, namespace: kube-system }\n`,
      /kube-system/,
    ],
  ])(
    "a PR with %s is refused with a clear message and nothing is applied",
    async ([, hostile, message], { bot, admin }) => {
      const s = await setup(bot, admin, {
        files: { "deploy/preview/ok.yaml": extraConfigMap, "deploy/preview/zz-bad.yaml": hostile },
      });
      await s.rig.deliver("pull_request", s.opened);
      await s.rig.settle();
      expect(await namespaceExists(admin, s.ns)).toBe(false);
      expect(s.comments.comments).toHaveLength(1);
      const body = s.comments.comments[0]!.body;
      expect(body).toContain("manifests refused");
      expect(body).toMatch(message);
      expect(body).toContain("zz-bad.yaml");
      expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "failure" });
      s.standIn.verify();
    },
  );

  test("a rollout that cannot finish is reported with the failing pod, and the deployment is marked failed", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, { files: { "deploy/preview/web.yaml": web(1) }, rolloutSeconds: 3 });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    const body = s.comments.comments[0]!.body;
    expect(body).toContain("deployment failed");
    // With a node the kubelet cannot pull the image (no registry answers); without one the pod is
    // never scheduled.
    expect(body).toMatch(
      inject("node")
        ? /Pod web-[a-z0-9]+-[a-z0-9]+: (ErrImagePull|ImagePullBackOff)/
        : /Pod web-[a-z0-9]+-[a-z0-9]+: Pending/,
    );
    expect(body).toContain("Deployment/web");
    expect(s.deployments.latestStatus(s.deployments.deployments[0]!.id)?.state).toBe("failure");
    expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "failure" });
    expect(
      (await admin.makeApiClient(CoreV1Api).readNamespace({ name: s.ns })).metadata?.annotations?.[
        "prenv.dev/state"
      ],
    ).toBe("failed");
    s.standIn.verify();
  });
});

describe("janitor", () => {
  test("removes the environment of a PR closed without a close event, leaves open ones alone, and expires old ones", async ({
    bot,
    admin,
  }) => {
    const closed = await setup(bot, admin);
    const open = await setup(bot, admin);
    for (const s of [closed, open]) {
      await s.rig.deliver("pull_request", s.opened);
      await s.rig.settle();
      expect(await namespaceExists(admin, s.ns)).toBe(true);
    }
    // The close event for `closed` never arrives.
    (closed.pr.pr as { state: string }).state = "closed";

    // One paginated list of open PRs per repository.
    const listed: string[] = [];
    for (const s of [closed, open]) {
      s.standIn.route("GET", "/repos/:owner/:repo/pulls", (req) => {
        listed.push(`${req.params.owner}/${req.params.repo}`);
        if (req.params.repo !== s.repo) return { status: 404, body: { message: "Not Found" } };
        const pr = s.pr.pr as { state: string };
        return { body: pr.state === "open" ? [pr] : [] };
      });
    }
    // Each rig's stand-in knows only its own repository, so each sweep looks at that one's namespace.
    const run = (s: Setup, now: Date) => janitorPass(bot, s.rig, s.ns, now);

    const first = await run(closed, new Date());
    await closed.rig.settle();
    expect(first.reconciled).toEqual([{ namespace: closed.ns, reason: "pull request closed" }]);
    await eventually(`${closed.ns} deleted`, 60_000, async () => !(await namespaceExists(admin, closed.ns)));
    expect(closed.comments.comments[0]!.body).toContain("deleted");

    const second = await run(open, new Date());
    await open.rig.settle();
    expect(second.reconciled).toEqual([]);
    expect(second.cost).toEqual({ [`${open.owner}/${open.repo}`]: { environments: 1, perDay: 0 } });
    expect(await namespaceExists(admin, open.ns)).toBe(true);

    // Four days later the 48h ttl is over: the janitor expires it.
    // 12 hours before the 48h ttl ends the author is warned, once.
    const expiresAt = Date.parse(
      (await admin.makeApiClient(CoreV1Api).readNamespace({ name: open.ns })).metadata!.annotations![
        "prenv.dev/expires-at"
      ]!,
    );
    const soon = new Date(expiresAt - 12 * 3600_000);
    open.rig.setNow(soon);
    expect((await run(open, soon)).reconciled).toEqual([
      { namespace: open.ns, reason: "expiry warning due" },
    ]);
    await open.rig.settle();
    const warnings = () =>
      open.comments.comments.filter((c) => c.body.startsWith("@Codertocat the preview environment"));
    expect(warnings()).toHaveLength(1);
    expect((await run(open, soon)).reconciled).toEqual([]);
    await open.rig.settle();
    expect(warnings()).toHaveLength(1);

    const fourDaysOn = new Date(Date.now() + 4 * 24 * 3600_000);
    open.rig.setNow(fourDaysOn);
    const later = await run(open, fourDaysOn);
    expect(later.reconciled).toEqual([{ namespace: open.ns, reason: "expired" }]);
    await open.rig.settle();
    await eventually(`${open.ns} deleted`, 60_000, async () => !(await namespaceExists(admin, open.ns)));
    expect(open.comments.comments[0]!.body).toContain("end of its lifetime");
  });
});

const ours = (s: Setup) =>
  s.comments.comments.find((c) => c.user.login === "prenv[bot]" && c.body.startsWith(COMMENT_MARKER))!;
/** prenv's replies: comments by a bot that are neither prenv's sticky comment nor commands. */
const replies = (s: Setup) =>
  s.comments.comments.filter(
    (c) => c.user.type === "Bot" && !c.body.startsWith(COMMENT_MARKER) && !c.body.startsWith("/env"),
  );
const annotations = async (admin: KubeConfig, ns: string) =>
  (await admin.makeApiClient(CoreV1Api).readNamespace({ name: ns })).metadata?.annotations ?? {};

describe("comment commands", () => {
  test("only write, maintain and admin may run commands; read, triage and none are refused for every command; bots and prenv are ignored", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, {
      perms: { ada: "admin", max: "maintain", wes: "write", tri: "triage", rea: "read", non: "none" },
    });
    const reactions = commandRoutes(s);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();

    // Every command, refused for every role below write (rotating through them, and strangers).
    const refusedRoles = ["tri", "rea", "non", "stranger"];
    const commands = ["status", "extend 1h", "redeploy", "destroy", "sleep", "wake", "deploy", "help"];
    for (const [i, cmd] of commands.entries()) {
      const id = await command(s, refusedRoles[i % refusedRoles.length]!, `/env ${cmd}`);
      expect(reactions.filter((r) => r.commentId === id)).toEqual([{ commentId: id, content: "-1" }]);
    }
    // One written refusal per 10 minutes on a PR; the reactions say the rest.
    expect(replies(s)).toHaveLength(1);
    expect(replies(s)[0]!.body).toContain("need write, maintain or admin permission");
    s.rig.setNow(new Date(Date.now() + 11 * 60_000));
    await command(s, "tri", "/env status");
    expect(replies(s)).toHaveLength(2);
    s.rig.setNow(null);
    expect(await namespaceExists(admin, s.ns)).toBe(true);

    const before = s.standIn.calls.length;
    await command(s, "dependabot[bot]", "/env destroy", "Bot");
    await command(s, "prenv[bot]", "/env destroy", "Bot");
    expect(s.standIn.calls.length).toBe(before); // not even read: the webhook drops them
    expect(await namespaceExists(admin, s.ns)).toBe(true);

    for (const login of ["ada", "max", "wes"]) {
      const id = await command(s, login, "/env status");
      expect(reactions.filter((r) => r.commentId === id)).toEqual([{ commentId: id, content: "eyes" }]);
    }
    expect(replies(s)).toHaveLength(2);

    const bad = await command(s, "wes", "/env frobnicate");
    expect(reactions.find((r) => r.commentId === bad)?.content).toBe("confused");
    expect(replies(s).at(-1)!.body).toContain("prenv commands");
    // The echoed text of a malformed command cannot mention anyone or inject markup.
    await command(s, "wes", "/env @acme/everyone <b>x</b>");
    const echo = replies(s).at(-1)!.body.split("\n")[0]!;
    expect(echo.replace(/`[^`]*`/g, "")).not.toMatch(/@acme|<b>/);
    // Nor raw control or direction characters.
    await command(s, "wes", "/env st\u202eatus\u0007");
    const shown = replies(s).at(-1)!.body.split("\n")[0]!;
    expect(shown).toContain("st?atus?");
    // eslint-disable-next-line no-control-regex
    expect(shown).not.toMatch(/[\u0000-\u001f\u202e]/);
    s.standIn.verify();
  });

  test("/env extend moves the expiry, and is capped by maxTtl counted from creation", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, { perms: { wes: "write" } });
    commandRoutes(s);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    const a = await annotations(admin, s.ns);
    const created = Date.parse(a["prenv.dev/created-at"]!);
    const expires = Date.parse(a["prenv.dev/expires-at"]!);
    expect(expires - created).toBe(48 * 3600_000);

    await command(s, "wes", "/env extend 1d");
    const extended = Date.parse((await annotations(admin, s.ns))["prenv.dev/expires-at"]!);
    expect(extended - expires).toBe(24 * 3600_000);
    expect(replies(s).at(-1)!.body).toMatch(/^Expiry moved to \S+\.$/);
    expect(ours(s).body).toContain(new Date(extended).toISOString().replace(/\.\d{3}Z$/, "Z"));

    await command(s, "wes", "/env extend 30d");
    const capped = Date.parse((await annotations(admin, s.ns))["prenv.dev/expires-at"]!);
    expect(capped - created).toBe(7 * 24 * 3600_000);
    expect(replies(s).at(-1)!.body).toContain("capped by the repository's maxTtl (7d)");

    // Issue 17: a second capped extend said "Expiry moved" though nothing moved.
    await command(s, "wes", "/env extend 1d");
    expect(Date.parse((await annotations(admin, s.ns))["prenv.dev/expires-at"]!)).toBe(capped);
    expect(replies(s).at(-1)!.body).toBe(
      `Expiry unchanged: it is already ${new Date(capped).toISOString().replace(/\.\d{3}Z$/, "Z")}, the latest allowed (capped by the repository's maxTtl (7d), counted from the environment's creation).`,
    );
  });

  test("replies show prenv's code spans as code: no escaped backticks", async ({ bot, admin }) => {
    const s = await setup(bot, admin, { perms: { wes: "write" } });
    commandRoutes(s);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    await command(s, "wes", "/env extend soon");
    const reply = replies(s).at(-1)!.body.split("\n")[0]!;
    expect(reply).toBe(
      "I could not read `/env extend soon`: `soon` is not a valid duration: it is not a number followed by a unit. Use a whole number followed by m (minutes), h (hours), d (days) or w (weeks), without spaces, for example 30m, 36h, 2d, 1w or 1d12h.",
    );
    await command(s, "wes", "/env sleep now");
    expect(replies(s).at(-1)!.body.split("\n")[0]).toBe(
      "I could not read `/env sleep now`: `/env sleep` takes nothing after it",
    );
    // The commenter's own backticks cannot close the code span.
    await command(s, "wes", "/env `x`@acme");
    const echo = replies(s).at(-1)!.body.split("\n")[0]!;
    expect(echo).toBe("I could not read ``/env `x`@acme``: `` `x`@acme `` is not a prenv command");
    // Destroyed: the comment says how to bring it back, without backslashes.
    await command(s, "wes", "/env destroy");
    expect(ours(s).body).toContain(
      "Destroyed with /env destroy; a new push or /env redeploy brings it back.",
    );
    expect(ours(s).body).not.toContain("\\`");
  });

  test("/env sleep and /env wake round-trip the exact replica counts", async ({ bot, admin }) => {
    const files = {
      "deploy/preview/web.yaml": web(3),
      "deploy/preview/worker.yaml": web(2)
        .replace(/name: web/g, "name: worker")
        .replace(/app: web/g, "app: worker"),
      "deploy/preview/idle.yaml": web(0)
        .replace(/name: web/g, "name: idle")
        .replace(/app: web/g, "app: idle"),
    };
    const s = await setup(bot, admin, { perms: { wes: "write" }, files, rolloutSeconds: 1 });
    commandRoutes(s);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    const apps = admin.makeApiClient(AppsV1Api);
    const replicas = async () =>
      Object.fromEntries(
        (await apps.listNamespacedDeployment({ namespace: s.ns })).items.map((d) => [
          d.metadata!.name!,
          d.spec!.replicas,
        ]),
      );
    expect(await replicas()).toEqual({ web: 3, worker: 2, idle: 0 });
    // 5 containers without requests get the LimitRange defaults (50m, 64Mi) each.
    expect(ours(s).body).toContain("| Cost estimate | ~0.28 USD/day (0.25 CPU, 0.313 GiB requested) |");

    await command(s, "wes", "/env sleep");
    expect(await replicas()).toEqual({ web: 0, worker: 0, idle: 0 });
    expect((await annotations(admin, s.ns))["prenv.dev/sleeping"]).toBe("true");
    // Its image is never pulled (or, without a node, its pods never scheduled): the deploy failed,
    // and sleep keeps saying so (see "sleep keeps the deploy state it found").
    expect(ours(s).body).toContain("deployment failed");

    await command(s, "wes", "/env wake");
    expect(await replicas()).toEqual({ web: 3, worker: 2, idle: 0 });
    expect((await annotations(admin, s.ns))["prenv.dev/sleeping"]).toBe("false");
    expect(ours(s).body).not.toContain("asleep");
  });

  test("sleep keeps the deploy state it found: /env sleep on a failed environment leaves the comment, check run and Deployment failed", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, {
      perms: { wes: "write" },
      files: { "deploy/preview/web.yaml": web(1) },
      rolloutSeconds: 1,
    });
    commandRoutes(s);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    // What the comment shows (its hidden state line records the commands).
    const shown = () =>
      ours(s)
        .body.split("\n")
        .filter((l) => !l.startsWith("<!-- prenv:meta"))
        .join("\n");
    const failed = shown();
    expect(failed).toContain("deployment failed");
    const gitHubSays = () => ({
      check: s.checks.checkRuns.filter((c) => c.head_sha === SHA1).map((c) => [c.status, c.conclusion]),
      deployments: s.deployments.deployments.map((d) => s.deployments.latestStatus(d.id)?.state),
    });
    expect(gitHubSays()).toEqual({ check: [["completed", "failure"]], deployments: ["failure"] });

    await command(s, "wes", "/env sleep");
    expect(replies(s).at(-1)!.body).toContain("Asleep: Deployment/web 1→0.");
    expect(await annotations(admin, s.ns)).toMatchObject({
      "prenv.dev/sleeping": "true",
      "prenv.dev/state": "failed",
    });
    expect(shown()).toBe(failed);
    expect(gitHubSays()).toEqual({ check: [["completed", "failure"]], deployments: ["failure"] });

    // A later reconcile (here `/env status`; the janitor's is the same) says the same.
    await command(s, "wes", "/env status");
    expect(shown()).toBe(failed);
    expect(gitHubSays()).toEqual({ check: [["completed", "failure"]], deployments: ["failure"] });

    // Waking a failed environment deploys it again (and it fails again here).
    await command(s, "wes", "/env wake");
    expect((await annotations(admin, s.ns))["prenv.dev/sleeping"]).toBe("false");
    expect(ours(s).body).toContain("deployment failed");
    expect(gitHubSays().deployments.at(-1)).toBe("failure");
  });

  test("/env destroy keeps the environment down until /env redeploy", async ({ bot, admin }) => {
    const s = await setup(bot, admin, { perms: { wes: "write" } });
    commandRoutes(s);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    await command(s, "wes", "/env destroy");
    const core = admin.makeApiClient(CoreV1Api);
    await eventually(`${s.ns} gone`, 60_000, () =>
      core.readNamespace({ name: s.ns }).then(
        () => false,
        () => true,
      ),
    );
    expect(ours(s).body).toContain("destroyed");

    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("labeled", { owner: s.owner, repo: s.repo, number: 7, sha: SHA1 }),
    );
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);

    await command(s, "wes", "/env redeploy");
    expect(await namespaceExists(admin, s.ns)).toBe(true);
    expect(ours(s).body).toContain("ready");
  });

  test("a fork PR is deployed only at the commit an /env deploy names, and only if prenv showed it; a push in between is never approved", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, { perms: { wes: "write" } });
    commandRoutes(s);
    const fork = {
      ...(s.opened.pull_request as { head: { repo: object } }).head.repo,
      full_name: "mallory/web",
    };
    (s.opened.pull_request as { head: { repo: object } }).head.repo = fork;
    (s.pr.pr as { head: { repo: object } }).head.repo = fork;
    /** A push by the fork's author: GitHub's head moves; the synchronize event may come later. */
    const authorPushes = (sha: string) => {
      const pushed = push(s, sha, { "deploy/preview/web.yaml": web() });
      (pushed.pull_request as { head: { repo: object } }).head.repo = fork;
      (s.pr.pr as { head: { repo: object } }).head.repo = fork;
      return pushed;
    };
    const lastReply = () => replies(s).at(-1)?.body ?? "";
    const deployedSha = async () => (await annotations(admin, s.ns))["prenv.dev/deployed-sha"];

    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    expect(ours(s).body).toContain("waiting for approval");
    expect(ours(s).body).toContain("comes from a fork");
    expect(ours(s).body).toContain("```\n/env deploy 111111111111\n```");

    // A bare /env deploy approves nothing: it answers with the exact command.
    await command(s, "wes", "/env deploy");
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    expect(lastReply()).toContain("`/env deploy 111111111111`");

    await command(s, "wes", "/env deploy 1111111");
    expect(await deployedSha()).toBe(SHA1);
    expect(lastReply()).toContain("Approved commit 1111111");

    // The author pushes between the maintainer's comment and the job: the approval names the old
    // commit, so nothing is deployed; prenv's comment now asks about the new head.
    const pushed = authorPushes(SHA2);
    await command(s, "wes", "/env deploy 1111111");
    expect(lastReply()).toContain("not the head of this pull request; the head is now 222222222222");
    expect(await deployedSha()).toBe(SHA1);
    expect(ours(s).body).toContain("/env deploy 222222222222");
    await s.rig.deliver("pull_request", pushed);
    await s.rig.settle();
    expect(await deployedSha()).toBe(SHA1);
    await command(s, "wes", "/env deploy 2222222");
    expect(await deployedSha()).toBe(SHA2);

    // A commit crafted to share the approved 7-character prefix, pushed before the job runs, matches
    // the prefix but was never shown for approval: refused.
    const SHA3 = "2222222" + "3".repeat(33);
    authorPushes(SHA3);
    await command(s, "wes", "/env deploy 2222222");
    expect(lastReply()).toContain("the head is now 222222233333, which prenv has not shown for approval");
    expect(await deployedSha()).toBe(SHA2);
  });

  test("a comment by another bot carrying prenv's marker and hidden state is never read as prenv's", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, { perms: { wes: "write" } });
    const fork = {
      ...(s.opened.pull_request as { head: { repo: object } }).head.repo,
      full_name: "mallory/web",
    };
    (s.opened.pull_request as { head: { repo: object } }).head.repo = fork;
    (s.pr.pr as { head: { repo: object } }).head.repo = fork;
    // e.g. a workflow that echoes PR text into a comment as github-actions[bot].
    const [spoof] = s.comments.seedComments(
      1,
      `${COMMENT_MARKER}\n<!-- prenv:meta {"approvedSha":"${SHA1}","awaitingSha":"${SHA1}"} -->\nall good`,
      { login: "github-actions[bot]", id: 41898282, type: "Bot" },
    );
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    const own = s.comments.comments.filter(
      (c) => c.user.login === "prenv[bot]" && c.body.startsWith(COMMENT_MARKER),
    );
    expect(own).toHaveLength(1);
    expect(own[0]!.body).toContain("waiting for approval");
    expect(s.comments.comments.find((c) => c.id === spoof!.id)!.body).toContain("all good");
  });
});

describe("janitor and worker together", () => {
  test("a janitor pass concurrent with a worker reconcile of the same PR ends consistent", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    s.standIn.route("GET", "/repos/:owner/:repo/pulls", () => ({ body: [] }));
    (s.pr.pr as { state: string }).state = "closed";
    // The close event and the janitor (which also sees the PR closed) race for the same PR.
    await Promise.all([
      s.rig.deliver(
        "pull_request",
        pullRequestPayload("closed", { owner: s.owner, repo: s.repo, number: 7, sha: SHA1, state: "closed" }),
      ),
      janitorPass(bot, s.rig, s.ns, new Date()),
    ]);
    await s.rig.settle();
    await eventually(`${s.ns} deleted`, 60_000, async () => !(await namespaceExists(admin, s.ns)));
    expect(s.comments.comments.filter((c) => c.body.startsWith(COMMENT_MARKER))).toHaveLength(1);
    expect(s.comments.comments[0]!.body).toContain("deleted");
    for (const d of s.deployments.deployments)
      expect(s.deployments.latestStatus(d.id)?.state).toBe("inactive");
  });
});

describe("drift repair", () => {
  test("the janitor has the guards re-applied every few hours, restoring a deleted quota", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    const core = admin.makeApiClient(CoreV1Api);
    await core.deleteNamespacedResourceQuota({ name: "prenv", namespace: s.ns });
    s.standIn.route("GET", "/repos/:owner/:repo/pulls", () => ({ body: [s.pr.pr] }));
    const run = (now: Date) => janitorPass(bot, s.rig, s.ns, now);
    expect((await run(new Date())).reconciled).toEqual([]);
    const later = new Date(Date.now() + 7 * 3600_000);
    s.rig.setNow(later);
    expect((await run(later)).reconciled).toEqual([{ namespace: s.ns, reason: "repair due" }]);
    await s.rig.settle();
    const quota = await core.readNamespacedResourceQuota({ name: "prenv", namespace: s.ns });
    expect(quota.spec?.hard?.["requests.cpu"]).toBe("2");
    expect((await run(later)).reconciled).toEqual([]);
  });
});

describe("sleep settings", () => {
  test("the janitor puts an idle environment to sleep, reports the compute saved, and a push wakes it", async ({
    bot,
    admin,
  }) => {
    const config = `${CONFIG}sleep:\n  after: 2h\n`;
    const s = await setup(bot, admin, {
      config,
      files: { "deploy/preview/web.yaml": web(2) },
      rolloutSeconds: 1,
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    const apps = admin.makeApiClient(AppsV1Api);
    const replicas = async () =>
      (await apps.readNamespacedDeployment({ name: "web", namespace: s.ns })).spec?.replicas;
    expect(await replicas()).toBe(2);
    s.standIn.route("GET", "/repos/:owner/:repo/pulls", () => ({ body: [s.pr.pr] }));
    const run = (now: Date) => janitorPass(bot, s.rig, s.ns, now);

    const hour = 3600_000;
    expect((await run(new Date(Date.now() + hour))).reconciled).toEqual([]);
    const threeHours = new Date(Date.now() + 3 * hour);
    s.rig.setNow(threeHours);
    expect((await run(threeHours)).reconciled).toEqual([{ namespace: s.ns, reason: "sleep due" }]);
    await s.rig.settle();
    expect(await replicas()).toBe(0);
    expect((await annotations(admin, s.ns))["prenv.dev/sleep-reason"]).toBe("idle");
    // Its rollout never finished (no image is pulled here): asleep, it still says so.
    expect(ours(s).body).toContain("deployment failed");

    // An hour later: 2 replicas × 50m CPU (LimitRange default) asleep for an hour.
    const report = await run(new Date(threeHours.getTime() + hour));
    expect(report.reconciled).toEqual([]);
    expect(report.saved).toEqual({ asleep: 1, cpuHours: 0.1, memoryGiBHours: 0.13 });

    s.rig.setNow(null);
    await s.rig.deliver("pull_request", push(s, SHA2, { "deploy/preview/web.yaml": web(2) }));
    await s.rig.settle();
    expect(await replicas()).toBe(2);
    expect((await annotations(admin, s.ns))["prenv.dev/sleeping"]).toBe("false");
  });
});

describe("caps", () => {
  test("over the repository's cap a PR is queued, and gets its environment when one frees up", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin, { config: `${CONFIG}maxEnvironments: 1\n` });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(true);

    // A second PR of the same repository.
    const second = pullRequestPayload("opened", { owner: s.owner, repo: s.repo, number: 8, sha: SHA1 });
    const pr8 = s.standIn.pullRequest(structuredClone(second.pull_request) as never, {
      expect: { files: { optional: true } },
    });
    const comments8 = s.standIn.issueComments(s.owner, s.repo, 8);
    const ns8 = namespaceName({ owner: s.owner, repo: s.repo, pr: 8 });
    deleteAfterTest(admin, ns8);
    await s.rig.deliver("pull_request", second);
    await s.rig.settle();
    const placeholder = await admin.makeApiClient(CoreV1Api).readNamespace({ name: ns8 });
    expect(placeholder.metadata?.labels?.["prenv.dev/queued"]).toBe("true");
    expect(await admin.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: ns8 })).toMatchObject({
      items: [],
    });
    expect(comments8.comments[0]!.body).toContain("queued");
    expect(comments8.comments[0]!.body).toContain("number 1 in the queue");

    // PR 7 closes; the janitor's next pass admits PR 8.
    (s.pr.pr as { state: string }).state = "closed";
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("closed", { owner: s.owner, repo: s.repo, number: 7, sha: SHA1, state: "closed" }),
    );
    await s.rig.settle();
    const core = admin.makeApiClient(CoreV1Api);
    await eventually(`${s.ns} gone`, 60_000, () =>
      core.readNamespace({ name: s.ns }).then(
        () => false,
        () => true,
      ),
    );
    s.standIn.route("GET", "/repos/:owner/:repo/pulls", () => ({ body: [pr8.pr] }));
    const report = await janitorPass(bot, s.rig, ns8, new Date());
    expect(report.reconciled).toEqual([{ namespace: ns8, reason: "queued: checking capacity" }]);
    await s.rig.settle();
    const admitted = await core.readNamespace({ name: ns8 });
    expect(admitted.metadata?.labels?.["prenv.dev/queued"]).toBe("false");
    expect(admitted.metadata?.annotations?.["prenv.dev/state"]).toBe("ready");
    expect(comments8.comments[0]!.body).toContain("ready");
  });
});
