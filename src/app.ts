// Wires GitHub events to prenv's one use case: each relevant event asks for one pull request to
// be reconciled. Handlers only narrow the payload and enqueue; no logic lives here. They need
// nothing of GitHub but the event, so they run on a Probot (`npm start`, tests) as on
// @octokit/webhooks alone (the webhook Lambda, which holds no GitHub credentials).
import type { Webhooks } from "@octokit/webhooks";
import { mentionsCommand } from "./commands/parse.js";
import type { JobQueue, ReconcileJob } from "./jobs/job.js";

/** What the handlers are registered on: a Probot, or @octokit/webhooks' `Webhooks`. */
export type EventSource = Pick<Webhooks, "on">;

export const PULL_REQUEST_EVENTS = [
  "pull_request.opened",
  "pull_request.reopened",
  "pull_request.synchronize",
  "pull_request.ready_for_review",
  "pull_request.converted_to_draft",
  "pull_request.labeled",
  "pull_request.unlabeled",
  "pull_request.edited",
  "pull_request.closed",
] as const;

export interface AppDeps {
  queue: JobQueue;
  /** Our own App id: completions of our own check runs must not trigger reconciles. */
  appId?: number;
}

interface RepoPayload {
  installation?: { id: number };
  repository: { id: number; name: string; owner: { login: string } };
}

function job(payload: RepoPayload, number: number, reason: string, delivery: string): ReconcileJob | null {
  if (!payload.installation) return null;
  return {
    installationId: payload.installation.id,
    owner: payload.repository.owner.login,
    repo: payload.repository.name,
    repoId: payload.repository.id,
    number,
    reason,
    delivery,
  };
}

export function prenvApp(deps: AppDeps) {
  return (app: EventSource): void => {
    app.on([...PULL_REQUEST_EVENTS], async (context) => {
      const j = job(
        context.payload,
        context.payload.pull_request.number,
        `pull_request.${context.payload.action}`,
        context.id,
      );
      if (j) await deps.queue.enqueue(j);
    });

    app.on("check_run.completed", async (context) => {
      const run = context.payload.check_run;
      if (deps.appId !== undefined && run.app?.id === deps.appId) return;
      for (const pr of run.pull_requests) {
        const j = job(context.payload, pr.number, "check_run.completed", `${context.id}:${pr.number}`);
        if (j) await deps.queue.enqueue(j);
      }
    });

    // Commands: only new comments (edits are ignored), only on pull requests, never from bots.
    app.on("issue_comment.created", async (context) => {
      const { issue, comment } = context.payload;
      if (!issue.pull_request || comment.user?.type === "Bot") return;
      if (!mentionsCommand(comment.body ?? "")) return;
      const j = job(context.payload, issue.number, "issue_comment.created", context.id);
      if (j) await deps.queue.enqueue({ ...j, commentId: comment.id });
    });

    app.on("check_suite.completed", async (context) => {
      const suite = context.payload.check_suite;
      if (deps.appId !== undefined && suite.app?.id === deps.appId) return;
      for (const pr of suite.pull_requests) {
        const j = job(context.payload, pr.number, "check_suite.completed", `${context.id}:${pr.number}`);
        if (j) await deps.queue.enqueue(j);
      }
    });
  };
}
