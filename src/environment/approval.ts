// Approval: pull requests from forks, and from authors without write access, run only a commit that
// someone with write access reviewed and approved with `/env deploy <sha>`. The approval names one
// commit; a later push needs a new one.
import { APPROVAL_SHA_CHARS, approvalCommand, type CommentMeta } from "../report/comment.js";
import { blankReport, say, type OpenCtx, type Outcome } from "./context.js";
import { WRITE_ROLES, type EnvironmentRecord } from "./ports.js";
import { teardown } from "./teardown.js";

/** Fork PRs and PRs of authors without write access run only a commit someone trusted approved. */
export async function trustGate(ctx: OpenCtx, env: EnvironmentRecord | null): Promise<Outcome | null> {
  const { pr, config } = ctx;
  const sameRepo = pr.headRepoFullName?.toLowerCase() === `${ctx.ref.owner}/${ctx.ref.repo}`.toLowerCase();
  if (sameRepo && WRITE_ROLES.has(await ctx.deps.github.permissionOf(pr.author))) return null;
  const why = sameRepo ? "was opened by an author without write access" : "comes from a fork";
  if (config.forks === "never") {
    const reason = `This pull request ${why}, and this repository does not deploy those (forks: never).`;
    if (env) return teardown(ctx, env, reason);
    await say(ctx, { ...blankReport(null), kind: "skipped", detail: reason });
    return "skipped";
  }
  if (ctx.meta.approvedSha === pr.headSha) return null;
  const running = env ? " The environment keeps running the commit approved before." : "";
  // Remembered so that an approval can only ever name the commit prenv showed here.
  ctx.meta = { ...ctx.meta, awaitingSha: pr.headSha };
  await say(ctx, {
    ...blankReport(pr.headSha),
    kind: "awaiting-approval",
    detail: `This pull request ${why}, so prenv does not deploy it on its own. A user with write access who has reviewed commit ${pr.headSha.slice(0, 7)} can deploy it by commenting the line below; a later push needs a new approval.${running}`,
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
