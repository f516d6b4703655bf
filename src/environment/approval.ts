// Approval: pull requests from forks, and from authors without write access, run only a commit that
// someone with write access reviewed and approved with `/env deploy <sha>`. The approval names one
// commit; a later push needs a new one.
import { APPROVAL_SHA_CHARS, approvalCommand, type CommentMeta } from "../report/comment.js";
import { blankReport, say, type OpenCtx, type Outcome } from "./context.js";
import { WRITE_ROLES, type EnvironmentRecord, type RepoRole } from "./ports.js";
import { teardown } from "./teardown.js";

/** Whether a pull request may deploy its head commit without someone's approval. */
export type Trust =
  | { kind: "trusted" }
  /** `forks: never`: not deployed at all. */
  | { kind: "refused"; why: string }
  /** Waits for `/env deploy <head>` from someone with write access. */
  | { kind: "awaiting"; why: string };

/**
 * Pure. `sameRepo`: the head branch is in the base repository; `authorRole`: the author's role
 * there (null when not asked: a fork is never trusted on its author's role).
 */
export function trustOf(pr: {
  sameRepo: boolean;
  authorRole: RepoRole | null;
  forks: "approve" | "never";
  headSha: string;
  approvedSha: string | undefined;
}): Trust {
  if (pr.sameRepo && pr.authorRole !== null && WRITE_ROLES.has(pr.authorRole)) return { kind: "trusted" };
  const why = pr.sameRepo ? "was opened by an author without write access" : "comes from a fork";
  if (pr.forks === "never") return { kind: "refused", why };
  if (pr.approvedSha === pr.headSha) return { kind: "trusted" };
  return { kind: "awaiting", why };
}

/** Fork PRs and PRs of authors without write access run only a commit someone trusted approved. */
export async function trustGate(ctx: OpenCtx, env: EnvironmentRecord | null): Promise<Outcome | null> {
  const { pr, config } = ctx;
  const sameRepo = pr.headRepoFullName?.toLowerCase() === `${ctx.ref.owner}/${ctx.ref.repo}`.toLowerCase();
  const authorRole = sameRepo ? await ctx.deps.github.permissionOf(pr.author) : null;
  const trust = trustOf({
    sameRepo,
    authorRole,
    forks: config.forks,
    headSha: pr.headSha,
    approvedSha: ctx.meta.approvedSha,
  });
  if (trust.kind === "trusted") return null;
  if (trust.kind === "refused") {
    const reason = `This pull request ${trust.why}, and this repository does not deploy those (forks: never).`;
    if (env) return teardown(ctx, env, reason);
    await say(ctx, { ...blankReport(null), kind: "skipped", detail: reason });
    return "skipped";
  }
  const running = env ? " The environment keeps running the commit approved before." : "";
  // Remembered so that an approval can only ever name the commit prenv showed here.
  ctx.meta = { ...ctx.meta, awaitingSha: pr.headSha };
  await say(ctx, {
    ...blankReport(pr.headSha),
    kind: "awaiting-approval",
    detail: `This pull request ${trust.why}, so prenv does not deploy it on its own. A user with write access who has reviewed commit ${pr.headSha.slice(0, 7)} can deploy it by commenting the line below; a later push needs a new approval.${running}`,
    detailMarkdown: "```\n" + approvalCommand(pr.headSha) + "\n```",
  });
  return "awaiting-approval";
}

export type ApprovalDecision = { approved: true; reply: string } | { approved: false; reply: string | null };

/**
 * `/env deploy <sha>`: approves exactly the named commit, and only when it is both the PR's head now
 * and the commit prenv last asked approval for (so a push between the comment and this job, or a
 * commit crafted to share a short prefix, is never what gets approved). A bare `/env deploy`
 * approves nothing: the reply names the exact command for the current head.
 */
export function approveCommit(
  head: string | null,
  named: string | null,
  meta: CommentMeta,
): ApprovalDecision {
  if (!head) return { approved: false, reply: null };
  const exact = `\`${approvalCommand(head)}\``;
  if (named === null) {
    return {
      approved: false,
      reply: `\`/env deploy\` must name the commit it approves. The head of this pull request is ${head.slice(0, 7)}; after reviewing it, comment ${exact}.`,
    };
  }
  if (!head.startsWith(named)) {
    return {
      approved: false,
      reply: `Not approved: ${named.slice(0, 12)} is not the head of this pull request; the head is now ${head.slice(0, APPROVAL_SHA_CHARS)}. After reviewing it, comment ${exact}.`,
    };
  }
  if (meta.awaitingSha !== head) {
    return {
      approved: false,
      reply: `Not approved yet: the head is now ${head.slice(0, APPROVAL_SHA_CHARS)}, which prenv has not shown for approval (it changed after prenv's comment, or prenv has not seen it yet). Review it in prenv's comment, then comment ${exact}.`,
    };
  }
  return {
    approved: true,
    reply: `Approved commit ${head.slice(0, 7)} for deployment. A later push needs a new approval.`,
  };
}
