// A GitHub stand-in set up for the smallest deployable pull request: one ConfigMap that uses a
// template variable. Shared by the Lambda-shaped end-to-end test and the `npm run offline` smoke.
import type { GitHubStandIn, IssueCommentsModel } from "./github-standin.js";
import { pullRequestPayload } from "./payloads.js";

export const HELLO_MANIFEST =
  'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: hello }\ndata: { pr: "{{pr}}" }\n';

export function helloPullRequest(
  standIn: GitHubStandIn,
  pr: { owner: string; repo: string; number: number; sha: string },
  files: Record<string, string> = { "deploy/preview/cm.yaml": HELLO_MANIFEST },
): { opened: Record<string, unknown>; comments: IssueCommentsModel } {
  const { owner, repo, number, sha } = pr;
  const opened = pullRequestPayload("opened", { owner, repo, number, sha });
  standIn.installationAuth();
  standIn.pullRequest(structuredClone(opened.pull_request) as never, {
    expect: { files: { optional: true } },
  });
  // Manifests are read from the commit's tree and blobs, never file by file.
  standIn.contents(owner, repo, files, sha, { expect: { get: { times: 0 }, blob: {} } });
  standIn.collaboratorPermission(owner, repo, { Codertocat: "write" });
  standIn.configFile(owner, repo, "deploy:\n  path: deploy/preview\n");
  const comments = standIn.issueComments(owner, repo, number, { expect: { update: { optional: true } } });
  // The Deployment and the check run prenv creates are remembered in its comment, not looked up.
  standIn.deployments(owner, repo, { expect: { list: { times: 0 }, listStatuses: { times: 0 } } });
  standIn.checkRuns(owner, repo, { expect: { update: { optional: true }, listForRef: { times: 0 } } });
  return { opened, comments };
}
