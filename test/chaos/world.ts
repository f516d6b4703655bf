// The GitHub side of the chaos run: repositories and pull requests on the GitHub stand-in, with the
// state GitHub would hold (open or closed, head commit and its files, labels, comments, check runs,
// deployments), and the webhook payloads GitHub would send for each change. What prenv is expected
// to converge to is computed from this state (see check.ts).
import { app } from "../cluster/harness/workloads.js";
import { createHash } from "node:crypto";
import type {
  CheckRunsModel,
  DeploymentsModel,
  GitHubStandIn,
  InstallationAuthModel,
  IssueCommentsModel,
  PullRequestModel,
} from "../support/github-standin.js";
import { examplePayload, INSTALLATION_ID, pullRequestPayload } from "../support/payloads.js";

export const OWNER = "chaos";
/** The repositories' filter label: PRs of a `labelled` repository need it. */
export const LABEL = "preview";
/** Who writes `/env` commands (write access), and who opens the PRs (the payloads' author). */
export const DEVELOPER = "dev";
export const AUTHOR = "Codertocat";

/** How a repository opts in: every PR, PRs labelled `preview`, or not at all (no config file). */
export type RepoKind = "all" | "labelled" | "none";

/** Optional ConfigMaps a commit may carry: pushes add and remove them (pruning). */
export const OPTIONAL_MANIFESTS = ["alpha", "beta", "gamma", "delta"] as const;

export interface Repo {
  name: string;
  id: number;
  kind: RepoKind;
  deployments: DeploymentsModel;
  checks: CheckRunsModel;
}

interface PrObject {
  number: number;
  state: "open" | "closed";
  merged: boolean;
  head: { sha: string; ref: string };
  labels: { id: number; name: string }[];
  base: { repo: { id: number; name: string; owner: { login: string } } };
  user: { login: string };
}

export interface Pr {
  repo: Repo;
  number: number;
  model: PullRequestModel<PrObject>;
  comments: IssueCommentsModel;
  /** Head commit → the manifests it carries (optional ConfigMaps), in push order. */
  commits: Map<string, string[]>;
  pushes: number;
}

export function repoConfig(kind: RepoKind): string | null {
  if (kind === "none") return null;
  return [
    "isolation: namespace",
    "ttl: 72h",
    "deploy:",
    "  path: deploy/preview",
    "url:",
    "  service: web",
    "  port: 8080",
    "resources:",
    '  cpu: "1"',
    "  memory: 1Gi",
    "  pods: 5",
    ...(kind === "labelled" ? ["filters:", `  labels: [${LABEL}]`] : []),
    "",
  ].join("\n");
}

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 0
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

function configMap(name: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
data:
  pr: "{{pr}}"
  commit: "{{shortSha}}"
`;
}

/**
 * The files of a commit that carries these optional manifests. `image`: the test node's web app,
 * one replica behind a readiness probe, rolled out anew on every commit; without it the
 * Deployment has no replicas (a control plane without a node).
 */
export function commitFiles(optional: readonly string[], image?: string): Record<string, string> {
  return {
    "README.md": "# chaos\n",
    "deploy/preview/web.yaml": image ? app({ image, env: { APP_SHA: "{{shortSha}}" } }) : WEB,
    ...Object.fromEntries(optional.map((n) => [`deploy/preview/${n}.yaml`, configMap(n)])),
  };
}

/** The objects prenv applies for a commit: its manifests and the preview Ingress. */
export function expectedObjects(optional: readonly string[]): string[] {
  return [
    "Deployment/web",
    "Service/web",
    "Ingress/prenv-preview",
    ...optional.map((n) => `ConfigMap/${n}`),
  ].sort();
}

export class World {
  readonly repos: Repo[] = [];
  readonly prs: Pr[] = [];
  /** Installation tokens the stand-in issued (none may appear in a log line). */
  readonly auth: InstallationAuthModel;
  private readonly shaSalt: string;
  /** The web app's image on the test node, when the run has one. */
  private readonly image: string | undefined;

  constructor(
    private readonly standIn: GitHubStandIn,
    opts: { repos: number; prs: number; seed: number; kinds: RepoKind[]; image?: string },
  ) {
    this.shaSalt = String(opts.seed);
    this.image = opts.image;
    this.auth = standIn.installationAuth({ permissions: { metadata: "read", pull_requests: "write" } });
    for (let i = 0; i < opts.repos; i++) this.addRepo(i, opts.kinds[i % opts.kinds.length]!);
    for (let i = 0; i < opts.prs; i++)
      this.addPr(this.repos[i % this.repos.length]!, Math.floor(i / this.repos.length) + 1);
  }

  private addRepo(i: number, kind: RepoKind): void {
    const name = `app-${i}`;
    const id = 710_000 + i;
    const s = this.standIn;
    const optional = { optional: true };
    const deployments = s.deployments(OWNER, name, {
      expect: { create: optional, list: optional, createStatus: optional, listStatuses: optional },
    });
    const checks = s.checkRuns(OWNER, name, {
      expect: { create: optional, update: optional, listForRef: optional },
    });
    s.collaboratorPermission(OWNER, name, { [DEVELOPER]: "write", [AUTHOR]: "admin" }, { expect: optional });
    s.repoInstallation(OWNER, name, INSTALLATION_ID, { expect: optional });
    s.repository(OWNER, name, { id, expect: optional });
    // The default branch first: the config file's route must come after the contents routes.
    s.contents(OWNER, name, { "README.md": "# chaos\n" }, "main", {
      expect: { get: optional, tree: optional },
    });
    s.configFile(OWNER, name, repoConfig(kind), { expect: { repo: optional, org: optional } });
    const repo: Repo = { name, id, kind, deployments, checks };
    this.repos.push(repo);
    const base = `/repos/${OWNER}/${name}`;
    // The janitor's one request per repository: its open pull requests.
    s.route(
      "GET",
      `${base}/pulls`,
      (req) => {
        const state = req.query.get("state") ?? "open";
        const pulls = this.prs
          .filter((p) => p.repo === repo && (state === "all" || p.model.pr.state === state))
          .map((p) => p.model.pr);
        return { body: pulls };
      },
      optional,
    );
    s.route(
      "GET",
      `${base}/issues/comments/:id`,
      (req) => {
        const c = this.prs
          .filter((p) => p.repo === repo)
          .flatMap((p) => p.comments.comments)
          .find((x) => x.id === Number(req.params.id));
        return c ? { body: c } : { status: 404, body: { message: "Not Found" } };
      },
      optional,
    );
    s.route(
      "POST",
      `${base}/issues/comments/:id/reactions`,
      (req) => ({ status: 201, body: { id: 1, content: (req.body as { content: string }).content } }),
      optional,
    );
  }

  private addPr(repo: Repo, number: number): void {
    const sha = this.sha(repo, number, 0);
    const payload = pullRequestPayload("opened", {
      owner: OWNER,
      repo: repo.name,
      number,
      sha,
      repoId: repo.id,
    });
    const pr: PrObject = structuredClone(payload.pull_request as PrObject);
    pr.state = "closed"; // not opened yet
    pr.head.ref = `feature/chaos-${number}`;
    const model = this.standIn.pullRequest(pr, {
      expect: { get: { optional: true }, files: { optional: true } },
    });
    const comments = this.standIn.issueComments(OWNER, repo.name, number, {
      expect: { list: { optional: true }, create: { optional: true }, update: { optional: true } },
    });
    const p: Pr = { repo, number, model, comments, commits: new Map(), pushes: 0 };
    this.prs.push(p);
  }

  private sha(repo: Repo, number: number, push: number): string {
    return createHash("sha1").update(`${this.shaSalt}:${repo.name}#${number}@${push}`).digest("hex");
  }

  /** A new head commit with these optional manifests (the first "push" is the PR's first commit). */
  commit(p: Pr, optional: readonly string[]): string {
    const sha = this.sha(p.repo, p.number, p.pushes++);
    p.commits.set(sha, [...optional]);
    this.standIn.contents(OWNER, p.repo.name, commitFiles(optional, this.image), sha);
    p.model.pr.head.sha = sha;
    return sha;
  }

  pullRequestEvent(p: Pr, action: string): Record<string, unknown> {
    const pr = p.model.pr;
    const payload = pullRequestPayload(action, {
      owner: OWNER,
      repo: p.repo.name,
      number: p.number,
      sha: pr.head.sha,
      repoId: p.repo.id,
      state: pr.state,
      merged: pr.merged,
    });
    (payload.pull_request as PrObject).labels = structuredClone(pr.labels);
    (payload.pull_request as PrObject).head.ref = pr.head.ref;
    return payload;
  }

  /** Writes `body` as the developer on the PR; returns the issue_comment.created payload. */
  commentEvent(p: Pr, body: string): Record<string, unknown> {
    const [c] = p.comments.seedComments(1, body, { login: DEVELOPER, id: 9_100_000, type: "User" });
    const payload = examplePayload("issue_comment", "created") as Record<string, unknown> & {
      issue: Record<string, unknown>;
      comment: Record<string, unknown>;
      repository: Record<string, unknown>;
    };
    payload.issue = {
      ...payload.issue,
      number: p.number,
      state: p.model.pr.state,
      pull_request: { url: `https://api.github.com/repos/${OWNER}/${p.repo.name}/pulls/${p.number}` },
    };
    payload.comment = { ...payload.comment, id: c!.id, body, user: c!.user };
    payload.repository = this.pullRequestEvent(p, "opened").repository as Record<string, unknown>;
    return payload;
  }

  /** Which PR a GitHub API request was about (null: the App, a repository as a whole). */
  attribute(call: { method: string; path: string; query: Record<string, string>; body: unknown }): Pr | null {
    const m = /^\/repos\/chaos\/(app-\d+)\/(.*)$/.exec(call.path);
    if (!m) return null;
    const repo = this.repos.find((r) => r.name === m[1]);
    if (!repo) return null;
    const rest = m[2]!;
    const byNumber = (n: string | undefined) =>
      this.prs.find((p) => p.repo === repo && p.number === Number(n)) ?? null;
    const bySha = (sha: string | undefined) =>
      this.prs.find((p) => p.repo === repo && sha !== undefined && p.commits.has(sha)) ?? null;
    let x: RegExpExecArray | null;
    if ((x = /^(?:pulls|issues)\/(\d+)(?:\/|$)/.exec(rest))) return byNumber(x[1]);
    if ((x = /^issues\/comments\/(\d+)/.exec(rest))) {
      const id = Number(x[1]);
      return this.prs.find((p) => p.repo === repo && p.comments.comments.some((c) => c.id === id)) ?? null;
    }
    if ((x = /^commits\/([0-9a-f]{40})\//.exec(rest))) return bySha(x[1]);
    if (rest === "check-runs") return bySha((call.body as { head_sha?: string } | undefined)?.head_sha);
    if ((x = /^check-runs\/(\d+)/.exec(rest))) {
      const run = repo.checks.checkRuns.find((c) => c.id === Number(x![1]));
      return bySha(run?.head_sha);
    }
    if (rest === "deployments") {
      const env = call.query.environment ?? (call.body as { environment?: string } | undefined)?.environment;
      return byNumber(env?.replace(/^pr-/, ""));
    }
    if ((x = /^deployments\/(\d+)/.exec(rest))) {
      const d = repo.deployments.deployments.find((y) => y.id === Number(x![1]));
      return byNumber(d?.environment.replace(/^pr-/, ""));
    }
    if ((x = /^git\/trees\/([0-9a-f]{40})/.exec(rest))) return bySha(x[1]);
    if (rest.startsWith("contents/") && call.query.ref) return bySha(call.query.ref);
    return null;
  }
}
