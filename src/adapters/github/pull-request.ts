// GitHubPort on Probot's Octokit, for one pull request of one installation.
import { posix } from "node:path";
import type { ProbotOctokit } from "probot";
import { loadRepoConfig } from "../../config/load.js";
import type {
  CheckRunReport,
  CheckRunView,
  CheckState,
  ConfigLookup,
  DeploymentState,
  DeploymentView,
  GitHubPort,
  IssueCommentView,
  RepoRole,
  PrRef,
  PullRequest,
} from "../../environment/ports.js";
import { PrenvError } from "../../errors.js";
import { githubError, status } from "./errors.js";
import type { RepoFile, RepoTree } from "../../manifests/files.js";
import { GitHubTree } from "./tree.js";

export type Octokit = InstanceType<typeof ProbotOctokit>;

interface OwnComment {
  id: number;
  body: string;
  createdAt: string;
}

const MAX_SUMMARY = 60_000;
const DEPLOYMENTS_CHECKED = 5;

export class GitHubPullRequest implements GitHubPort {
  private readonly repo: { owner: string; repo: string };
  /** The repository's files, read through git trees and blobs (shared with the chart and overlay sources). */
  readonly repository: GitHubTree;
  /** prenv's own comments on the PR as last seen or written by this instance (null: not listed yet). */
  private own: OwnComment[] | null = null;

  /**
   * @param app prenv's own App: its check runs, and the only author whose comment is prenv's comment.
   *   Without it no comment counts as prenv's (read-only uses, such as the kubeconfig endpoint).
   */
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: PrRef,
    private readonly app?: { id: number; botLogin: string },
  ) {
    this.repo = { owner: ref.owner, repo: ref.repo };
    this.repository = new GitHubTree(octokit, this.repo);
  }

  async getPull(): Promise<PullRequest | null> {
    try {
      const { data } = await this.octokit.rest.pulls.get({ ...this.repo, pull_number: this.ref.number });
      return {
        number: data.number,
        state: data.state === "closed" ? "closed" : "open",
        merged: data.merged ?? false,
        draft: data.draft ?? false,
        headSha: data.head.sha,
        headRef: data.head.ref,
        baseRef: data.base.ref,
        headRepoFullName: data.head.repo?.full_name ?? null,
        labels: data.labels.map((l) => l.name ?? "").filter(Boolean),
        author: data.user?.login ?? "",
        repoId: data.base.repo.id,
        htmlUrl: data.html_url,
      };
    } catch (err) {
      if (status(err) === 404) return null;
      throw githubError(err, `read pull request #${this.ref.number}`);
    }
  }

  /** `.github/prenv.yml` from the default branch (see src/config/load.ts for how it is found). */
  async getConfig(): Promise<ConfigLookup> {
    return loadRepoConfig(
      {
        read: async (owner, repo, path) => {
          try {
            // Raw file from the default branch (no ref), as Probot's config plugin asks for it.
            const res = await this.octokit.request("GET /repos/{owner}/{repo}/contents/{path}", {
              owner,
              repo,
              path,
              headers: { accept: "application/vnd.github.v3.raw" },
            });
            return typeof res.data === "string" ? res.data : null;
          } catch (err) {
            if (status(err) === 404) return null;
            throw githubError(err, `read ${owner}/${repo}:${path}`);
          }
        },
      },
      this.ref.owner,
      this.ref.repo,
    );
  }

  async listChangedFiles(): Promise<string[]> {
    try {
      const files = await this.octokit.paginate(this.octokit.rest.pulls.listFiles, {
        ...this.repo,
        pull_number: this.ref.number,
        per_page: 100,
      });
      return files.map((f) => f.filename);
    } catch (err) {
      throw githubError(err, "list the pull request's changed files");
    }
  }

  async checkStates(sha: string, names: readonly string[]): Promise<Map<string, CheckState>> {
    const out = new Map<string, CheckState>();
    for (const name of names) {
      // Any app's run counts: these are the repository's own checks (e.g. its image build).
      const run = await this.latestCheckRun(sha, name, undefined);
      if (!run) out.set(name, "missing");
      else if (run.status !== "completed") out.set(name, "pending");
      else
        out.set(
          name,
          ["success", "neutral", "skipped"].includes(run.conclusion ?? "") ? "success" : "failure",
        );
    }
    return out;
  }

  /** The newest check run named `name` on `sha`, of one app when `appId` is given. */
  private async latestCheckRun(sha: string, name: string, appId: number | undefined) {
    try {
      const { data } = await this.octokit.rest.checks.listForRef({
        ...this.repo,
        ref: sha,
        check_name: name,
        filter: "latest",
        ...(appId ? { app_id: appId } : {}),
      });
      return data.check_runs[0] ?? null;
    } catch (err) {
      throw githubError(err, `read check run '${name}'`);
    }
  }

  /** The whole tree at `sha` (one request per job; GitHub truncates very large trees, which is reported). */
  async tree(sha: string): Promise<RepoTree> {
    const { entries, truncated } = await this.repository.listing(sha);
    const types = { file: "blob", symlink: "blob", dir: "tree", submodule: "commit" } as const;
    return { entries: entries.map((e) => ({ path: e.path, type: types[e.type], size: e.size })), truncated };
  }

  /**
   * Files of the tree at `sha`, by their blobs. A symbolic link to a file of the repository reads
   * as that file (as GitHub's contents API answers it); other links, directories and submodules
   * are left out.
   */
  async readFiles(sha: string, paths: string[]): Promise<RepoFile[]> {
    const byPath = new Map((await this.repository.listing(sha)).entries.map((e) => [e.path, e]));
    const picked: { path: string; sha: string }[] = [];
    for (const path of paths) {
      let entry = byPath.get(path);
      if (entry?.type === "symlink") {
        const target = Buffer.from(await this.repository.blob(entry.sha)).toString("utf8");
        entry = target.startsWith("/") ? undefined : byPath.get(posix.join(posix.dirname(path), target));
      }
      if (entry?.type === "file") picked.push({ path, sha: entry.sha });
    }
    const blobs = await this.repository.blobs(picked.map((p) => p.sha));
    return picked.map(({ path, sha: blob }) => ({
      path,
      content: Buffer.from(blobs.get(blob)!).toString("utf8"),
    }));
  }

  /**
   * prenv's own comment, found by its marker. One paginated listing per instance (an instance
   * serves one job): later look-ups, and the comments this instance creates or edits, are answered
   * from what it already knows. Only comments by prenv's own bot account count.
   */
  async findComment(marker: string): Promise<{ id: number; body: string } | null> {
    const found = (await this.ownComments()).find((c) => c.body.startsWith(marker));
    return found ? { id: found.id, body: found.body } : null;
  }

  /** prenv's newest comment starting with `marker`, with when it was written. */
  async latestComment(marker: string): Promise<{ id: number; body: string; createdAt: string } | null> {
    return (await this.ownComments()).findLast((c) => c.body.startsWith(marker)) ?? null;
  }

  private async ownComments(): Promise<OwnComment[]> {
    if (this.own) return this.own;
    const own: OwnComment[] = [];
    try {
      for await (const page of this.octokit.paginate.iterator(this.octokit.rest.issues.listComments, {
        ...this.repo,
        issue_number: this.ref.number,
        per_page: 100,
      })) {
        for (const c of page.data) {
          // Only prenv's own bot account: another bot (or a user) copying a marker is ignored.
          if (this.app !== undefined && c.user?.type === "Bot" && c.user.login === this.app.botLogin) {
            own.push({ id: c.id, body: c.body ?? "", createdAt: c.created_at });
          }
        }
      }
    } catch (err) {
      throw githubError(err, "list the pull request's comments");
    }
    this.own = own;
    return own;
  }

  async createComment(body: string): Promise<void> {
    try {
      const { data } = await this.octokit.rest.issues.createComment({
        ...this.repo,
        issue_number: this.ref.number,
        body,
      });
      this.own?.push({ id: data.id, body, createdAt: data.created_at });
    } catch (err) {
      throw githubError(err, "comment on the pull request");
    }
  }

  async updateComment(id: number, body: string): Promise<void> {
    try {
      await this.octokit.rest.issues.updateComment({ ...this.repo, comment_id: id, body });
      const known = this.own?.find((c) => c.id === id);
      if (known) known.body = body;
    } catch (err) {
      throw githubError(err, "update prenv's comment");
    }
  }

  async listDeployments(environment: string): Promise<{ id: number; sha: string }[]> {
    try {
      const { data } = await this.octokit.rest.repos.listDeployments({
        ...this.repo,
        environment,
        per_page: DEPLOYMENTS_CHECKED,
      });
      return data.map((d) => ({ id: d.id, sha: d.sha }));
    } catch (err) {
      throw githubError(err, `list deployments of ${environment}`);
    }
  }

  async deploymentState(id: number): Promise<DeploymentView["state"]> {
    try {
      const { data } = await this.octokit.rest.repos.listDeploymentStatuses({
        ...this.repo,
        deployment_id: id,
        per_page: 1,
      });
      return (data[0]?.state as DeploymentView["state"] | undefined) ?? null;
    } catch (err) {
      throw githubError(err, `read the state of deployment ${id}`);
    }
  }

  async createDeployment(sha: string, environment: string, description: string): Promise<DeploymentView> {
    try {
      const res = await this.octokit.rest.repos.createDeployment({
        ...this.repo,
        ref: sha,
        environment,
        description,
        transient_environment: true,
        production_environment: false,
        auto_merge: false,
        required_contexts: [],
      });
      if (!("id" in res.data))
        throw new PrenvError(
          "GITHUB_ERROR",
          `GitHub did not create the deployment: ${res.data.message ?? ""}`,
        );
      return { id: res.data.id, sha, state: null };
    } catch (err) {
      throw githubError(err, `create a deployment for ${environment}`);
    }
  }

  async setDeploymentStatus(
    id: number,
    state: DeploymentState,
    opts: { environmentUrl?: string; description: string },
  ): Promise<"set" | "gone"> {
    try {
      await this.octokit.rest.repos.createDeploymentStatus({
        ...this.repo,
        deployment_id: id,
        state,
        description: opts.description,
        ...(opts.environmentUrl ? { environment_url: opts.environmentUrl } : {}),
      });
      return "set";
    } catch (err) {
      if (status(err) === 404) return "gone";
      throw githubError(err, `set deployment ${id} to ${state}`);
    }
  }

  async findCheckRun(sha: string, name: string): Promise<CheckRunView | null> {
    const run = await this.latestCheckRun(sha, name, this.app?.id);
    if (!run) return null;
    return {
      id: run.id,
      status: run.status as CheckRunView["status"],
      conclusion: run.conclusion,
      title: run.output.title,
      summary: run.output.summary,
    };
  }

  async getComment(id: number): Promise<IssueCommentView | null> {
    try {
      const { data } = await this.octokit.rest.issues.getComment({ ...this.repo, comment_id: id });
      return {
        id: data.id,
        body: data.body ?? "",
        author: data.user?.login ?? "",
        authorType: data.user?.type ?? "User",
        createdAt: data.created_at,
      };
    } catch (err) {
      if (status(err) === 404) return null;
      throw githubError(err, `read comment ${id}`);
    }
  }

  /** The role, not the legacy `permission` field (which folds maintain into write and triage into read). */
  async permissionOf(login: string): Promise<RepoRole> {
    try {
      const { data } = await this.octokit.rest.repos.getCollaboratorPermissionLevel({
        ...this.repo,
        username: login,
      });
      const role = (data as { role_name?: string }).role_name ?? data.permission;
      return (["admin", "maintain", "write", "triage", "read"] as const).find((r) => r === role) ?? "none";
    } catch (err) {
      if (status(err) === 404) return "none";
      throw githubError(err, `read ${login}'s permission`);
    }
  }

  async addReaction(commentId: number, content: "+1" | "-1" | "eyes" | "confused" | "rocket"): Promise<void> {
    try {
      await this.octokit.rest.reactions.createForIssueComment({
        ...this.repo,
        comment_id: commentId,
        content,
      });
    } catch (err) {
      throw githubError(err, "react to a comment");
    }
  }

  async createCheckRun(sha: string, name: string, report: CheckRunReport): Promise<number> {
    try {
      const { data } = await this.octokit.rest.checks.create({
        ...this.repo,
        name,
        head_sha: sha,
        ...checkBody(report),
      });
      return data.id;
    } catch (err) {
      throw githubError(err, `create check run '${name}'`);
    }
  }

  async updateCheckRun(id: number, report: CheckRunReport): Promise<void> {
    try {
      await this.octokit.rest.checks.update({ ...this.repo, check_run_id: id, ...checkBody(report) });
    } catch (err) {
      throw githubError(err, `update check run ${id}`);
    }
  }
}

function checkBody(r: CheckRunReport) {
  return {
    status: r.status,
    ...(r.conclusion ? { conclusion: r.conclusion } : {}),
    ...(r.detailsUrl ? { details_url: r.detailsUrl } : {}),
    output: { title: r.title, summary: r.summary.slice(0, MAX_SUMMARY) },
  };
}
