// Where a pull request's environment is, and whether it is really this pull request's. The name is
// derived from owner/repo and the PR number; ownership is what the namespace records (the
// repository id and PR number prenv labelled it with). Every path that reads, changes, deletes or
// issues access to an environment finds it here first, so a namespace that records another
// repository or PR is never touched, whatever its name (docs/adr/0005).
import { legacyNamespaceName, namespaceName } from "./naming.js";
import type { ClusterPort, EnvironmentRecord, Logger } from "./ports.js";
import { ownedBy, ownerOf, type Owner } from "./record.js";

export interface Located {
  /** The namespace this PR's environment lives in, or would be created in. */
  namespace: string;
  /** The environment, when one exists there and records this repository and PR. */
  env: EnvironmentRecord | null;
  /**
   * Set when the namespace under this PR's name records another repository or PR (or the requester's
   * repository is unknown): prenv leaves it alone and cannot create this PR's environment there.
   */
  foreign: { namespace: string; recorded: Owner | null } | null;
}

export interface LocateRequest {
  owner: string;
  repo: string;
  number: number;
  /** The repository id (from GitHub) of the requester; null when it could not be learned. */
  repoId: number | null;
}

/**
 * Finds the PR's environment under its name, or under the name prenv used before the hash grew
 * (legacy environments keep their name until deleted). A namespace found under either name counts
 * only if it records `repoId` and the PR number; otherwise it is logged and left alone.
 */
export async function locateEnvironment(
  cluster: Pick<ClusterPort, "readEnvironment">,
  req: LocateRequest,
  prefix: string,
  log: Pick<Logger, "warn">,
): Promise<Located> {
  const ref = { owner: req.owner, repo: req.repo, pr: req.number };
  const primary = namespaceName(ref, prefix);
  const owner = req.repoId === null ? null : { repoId: req.repoId, pr: req.number };
  let foreign: Located["foreign"] = null;
  for (const namespace of [primary, legacyNamespaceName(ref, prefix)]) {
    const env = await cluster.readEnvironment(namespace);
    if (!env) continue;
    if (owner && ownedBy(env, owner)) return { namespace, env, foreign: null };
    const recorded = ownerOf(env);
    log.warn(
      {
        namespace,
        repository: `${req.owner}/${req.repo}`,
        pr: req.number,
        expected: owner,
        recorded,
      },
      owner
        ? "namespace records another repository or pull request; prenv leaves it alone"
        : "the repository id of the request is unknown; prenv leaves the namespace alone",
    );
    if (namespace === primary) foreign = { namespace, recorded };
  }
  return { namespace: primary, env: null, foreign };
}

/**
 * The environment of the pull request a job is about: the repository id GitHub reports for the
 * pull request (read fresh) wins over the one the event carried, which counts only when the pull
 * request cannot be read.
 */
export function locateForJob(
  deps: { cluster: Pick<ClusterPort, "readEnvironment">; log: Pick<Logger, "warn">; prefix: string },
  ref: { owner: string; repo: string; number: number; repoId?: number },
  pr: { repoId: number } | null,
): Promise<Located> {
  const repoId = pr ? pr.repoId : (ref.repoId ?? null);
  return locateEnvironment(
    deps.cluster,
    { owner: ref.owner, repo: ref.repo, number: ref.number, repoId },
    deps.prefix,
    deps.log,
  );
}
