// A pull request wired end to end for cluster-tier tests: the real Probot app receiving signed
// webhook payloads, the GitHub stand-in (fails on unexpected or unused calls), prenv's queue and
// worker, and the real API server with the bot's production RBAC. Call cleanupRigs() afterEach.
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import type { ProbotOctokit } from "probot";
import { namespaceName } from "../../../src/environment/naming.js";
import { startE2E, type E2E } from "../../support/e2e.js";
import type { RepositoryRole } from "../../support/github-standin.js";
import { examplePayload, pullRequestPayload } from "../../support/payloads.js";
import { testSettings } from "../../support/settings.js";

export const SHA1 = "1111111111111111111111111111111111111111";
export const SHA2 = "2222222222222222222222222222222222222222";

export const CONFIG = `
isolation: namespace
ttl: 48h
deploy:
  path: deploy/preview
url:
  service: web
  port: 8080
resources:
  cpu: "2"
  memory: 2Gi
  pods: 10
`;

export function web(replicas = 0): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }
      containers:
        - name: web
          image: "registry.invalid/web:{{shortSha}}"
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 8080 }]
`;
}

export const extraConfigMap = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: extra
data:
  pr: "{{pr}}"
  host: "{{host}}"
`;

let counter = 0;
const rigs: E2E[] = [];
const namespaces: { kc: KubeConfig; name: string }[] = [];

/** Deletes `name` (if anyone creates it) when the test ends. */
export function deleteAfterTest(kc: KubeConfig, name: string): void {
  namespaces.push({ kc, name });
}

export async function cleanupRigs(): Promise<void> {
  for (const r of rigs.splice(0)) await r.close();
  for (const { kc, name } of namespaces.splice(0)) {
    await kc
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name })
      .catch(() => undefined);
  }
}

export async function setup(
  bot: KubeConfig,
  admin: KubeConfig,
  opts: {
    config?: string | null;
    files?: Record<string, string>;
    rolloutSeconds?: number;
    perms?: Record<string, RepositoryRole>;
    /** More operator settings (environment variables). */
    settings?: Record<string, string>;
    /** The Octokit class the App uses (default: the tests' one, with retries and throttling off). */
    Octokit?: typeof ProbotOctokit;
    /** Follow-ups run inside the job that scheduled them (test/support/e2e.ts). */
    holdFollowUps?: boolean;
  } = {},
) {
  const owner = "acme";
  // Unique across test files too (each file counts from 0 again): a namespace of an earlier
  // file may still be terminating while its pods stop.
  const repo = `web-${process.pid}-${randomBytes(2).toString("hex")}-${++counter}`;
  const number = 7;
  const settings = testSettings({
    PRENV_ROLLOUT_TIMEOUT_SECONDS: String(opts.rolloutSeconds ?? 20),
    ...opts.settings,
  });
  const rig = await startE2E(bot, settings, {
    holdFollowUps: opts.holdFollowUps ?? false,
    ...(opts.Octokit ? { Octokit: opts.Octokit } : {}),
  });
  rigs.push(rig);
  const ns = namespaceName({ owner, repo, pr: number });
  namespaces.push({ kc: admin, name: ns });
  const { standIn } = rig;
  const opened = pullRequestPayload("opened", { owner, repo, number, sha: SHA1 });
  const auth = standIn.installationAuth();
  const pr = standIn.pullRequest(structuredClone(opened.pull_request) as never, {
    expect: { files: { optional: true } },
  });
  const files = opts.files ?? {
    "deploy/preview/web.yaml": web(),
    "deploy/preview/extra.yml": extraConfigMap,
    "README.md": "# hi",
  };
  const contents = standIn.contents(owner, repo, files, SHA1, {
    expect: { get: { optional: true }, tree: { optional: true } },
  });
  const config = standIn.configFile(owner, repo, opts.config === undefined ? CONFIG : opts.config);
  const comments = standIn.issueComments(owner, repo, number, {
    expect: { list: { optional: true }, create: { optional: true }, update: { optional: true } },
  });
  const deployments = standIn.deployments(owner, repo, {
    expect: {
      create: { optional: true },
      list: { optional: true },
      createStatus: { optional: true },
      listStatuses: { optional: true },
    },
  });
  const perms = standIn.collaboratorPermission(
    owner,
    repo,
    { Codertocat: "admin", ...opts.perms },
    { expect: { optional: true } },
  );
  const checks = standIn.checkRuns(owner, repo, {
    expect: { create: { optional: true }, update: { optional: true }, listForRef: { optional: true } },
  });
  return {
    rig,
    settings,
    standIn,
    auth,
    perms,
    owner,
    repo,
    number,
    ns,
    opened,
    pr,
    contents,
    config,
    comments,
    deployments,
    checks,
  };
}

export type Setup = Awaited<ReturnType<typeof setup>>;

export function push(s: Setup, sha: string, files: Record<string, string>): Record<string, unknown> {
  s.standIn.contents(s.owner, s.repo, files, sha);
  (s.pr.pr as { head: { sha: string } }).head.sha = sha;
  return pullRequestPayload("synchronize", { owner: s.owner, repo: s.repo, number: s.number, sha });
}

export async function configMaps(admin: KubeConfig, ns: string): Promise<string[]> {
  return (await admin.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns })).items
    .map((c) => c.metadata!.name!)
    .filter((n) => n !== "kube-root-ca.crt");
}

export async function namespaceExists(admin: KubeConfig, ns: string): Promise<boolean> {
  return admin
    .makeApiClient(CoreV1Api)
    .readNamespace({ name: ns })
    .then(
      (n) => !n.metadata?.deletionTimestamp,
      () => false,
    );
}

export function everythingPosted(s: Setup): string {
  return JSON.stringify([
    s.comments.comments.map((c) => c.body),
    s.checks.checkRuns.map((c) => c.output),
    s.rig.logs,
  ]);
}

let userIds = 7000;

/** Routes the command handler uses beyond the stand-in's models: read one comment, add a reaction. */
export function commandRoutes(s: Setup) {
  const reactions: { commentId: number; content: string }[] = [];
  s.standIn.route(
    "GET",
    "/repos/:owner/:repo/issues/comments/:id",
    (req) => {
      const c = s.comments.comments.find((x) => x.id === Number(req.params.id));
      return c ? { body: c } : { status: 404, body: { message: "Not Found" } };
    },
    { optional: true },
  );
  s.standIn.route(
    "POST",
    "/repos/:owner/:repo/issues/comments/:id/reactions",
    (req) => {
      reactions.push({
        commentId: Number(req.params.id),
        content: (req.body as { content: string }).content,
      });
      return {
        status: 201,
        body: { id: reactions.length, content: (req.body as { content: string }).content },
      };
    },
    { optional: true },
  );
  return reactions;
}

/** Posts a comment on the PR as `login` and delivers the real issue_comment.created payload for it. */
export async function command(
  s: Setup,
  login: string,
  body: string,
  type: "User" | "Bot" = "User",
): Promise<number> {
  const [c] = s.comments.seedComments(1, body, { login, id: ++userIds, type });
  const payload = examplePayload("issue_comment", "created") as Record<string, unknown> & {
    issue: Record<string, unknown>;
    comment: Record<string, unknown>;
  };
  payload.issue = {
    ...payload.issue,
    number: s.number,
    pull_request: { url: "https://example.invalid/pulls/7" },
  };
  payload.comment = { ...payload.comment, id: c!.id, body, user: c!.user };
  payload.repository = s.opened.repository;
  await s.rig.deliver("issue_comment", payload);
  await s.rig.settle();
  return c!.id;
}
