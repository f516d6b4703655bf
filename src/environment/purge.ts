// Purge: the janitor found an environment whose repository is gone (deleted, or the App
// uninstalled) or whose name now belongs to another repository. It does not delete it itself: it
// asks for a purge job in the PR's queue group, so the deletion is ordered with the PR's other
// jobs, and the job looks again, with fresh answers from the cluster and from GitHub, before it
// deletes anything. A repository that is back (or was never gone: a stale answer) keeps its
// environment.
import type { Outcome } from "./context.js";
import { locateEnvironment } from "./locate.js";
import type { ClusterPort, Logger } from "./ports.js";

export interface PurgeDeps {
  cluster: Pick<ClusterPort, "readEnvironment" | "deleteNamespace">;
  log: Logger;
  prefix: string;
  /** The repository's id as GitHub reports it now; null when it is gone or the App is not on it. */
  repositoryId(): Promise<number | null>;
}

export async function purge(
  ref: { owner: string; repo: string; number: number; repoId: number },
  deps: PurgeDeps,
): Promise<Outcome> {
  const located = await locateEnvironment(deps.cluster, ref, deps.prefix, deps.log);
  if (!located.env) return "unchanged";
  const now = await deps.repositoryId();
  if (now === ref.repoId) {
    deps.log.info(
      { namespace: located.namespace, repository: `${ref.owner}/${ref.repo}` },
      "the repository is there after all; its environment stays",
    );
    return "unchanged";
  }
  await deps.cluster.deleteNamespace(located.namespace);
  deps.log.info(
    {
      namespace: located.namespace,
      repository: `${ref.owner}/${ref.repo}`,
      recorded: ref.repoId,
      now,
    },
    now === null
      ? "environment of a gone repository deleted"
      : "environment of a replaced repository deleted",
  );
  return "deleted";
}
