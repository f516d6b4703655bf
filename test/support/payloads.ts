// Real webhook payloads from @octokit/webhooks-examples, adjusted only where a field must be set
// (the examples were not delivered to an App, so they carry no `installation`).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples") as {
  name: string;
  examples: Record<string, unknown>[];
}[];

export const INSTALLATION_ID = 4242;

export function examplePayload(event: string, action: string, index = 0): Record<string, unknown> {
  const group = examples.find((e) => e.name === event);
  const matching = group?.examples.filter((e) => e.action === action) ?? [];
  const found = matching[index];
  if (!found) throw new Error(`no example payload for ${event}.${action} #${index}`);
  const copy = structuredClone(found);
  copy.installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
  return copy;
}

/** A pull_request payload for `owner/repo#number` at `sha`, built from the real `opened` example. */
export function pullRequestPayload(
  action: string,
  opts: {
    owner: string;
    repo: string;
    number: number;
    sha: string;
    repoId?: number;
    state?: "open" | "closed";
    merged?: boolean;
  },
): Record<string, unknown> {
  const p = examplePayload("pull_request", "opened") as {
    action: string;
    number: number;
    pull_request: Record<string, unknown> & { head: Record<string, unknown>; base: Record<string, unknown> };
    repository: Record<string, unknown> & { owner: Record<string, unknown> };
  };
  p.action = action;
  p.number = opts.number;
  const repo = {
    ...p.repository,
    id: opts.repoId ?? 1296269,
    name: opts.repo,
    full_name: `${opts.owner}/${opts.repo}`,
    owner: { ...p.repository.owner, login: opts.owner },
  };
  p.repository = repo;
  p.pull_request = {
    ...p.pull_request,
    number: opts.number,
    state: opts.state ?? "open",
    merged: opts.merged ?? false,
    draft: false,
    head: { ...p.pull_request.head, sha: opts.sha, ref: "feature/login", repo },
    base: { ...p.pull_request.base, ref: "main", repo },
    labels: [],
  };
  return p;
}
