// RepositoryReader on Octokit: the git tree of one commit (one recursive listing) and blobs by
// their sha (base64, so binary files such as vendored chart archives arrive intact). Reads happen
// at the commit the use case names (the pull request's head), never at a branch.
import { PrenvError } from "../../errors.js";
import type { RepositoryReader, TreeEntry } from "../../sources/ports.js";
import { status } from "./errors.js";
import type { Octokit } from "./pull-request.js";

const TYPES: Record<string, TreeEntry["type"]> = {
  "100644": "file",
  "100755": "file",
  "120000": "symlink",
  "040000": "dir",
  "160000": "submodule",
};

export class GitHubTree implements RepositoryReader {
  constructor(
    private readonly octokit: Octokit,
    private readonly repo: { owner: string; repo: string },
  ) {}

  async tree(commit: string): Promise<TreeEntry[]> {
    let data: Awaited<ReturnType<Octokit["rest"]["git"]["getTree"]>>["data"];
    try {
      ({ data } = await this.octokit.rest.git.getTree({ ...this.repo, tree_sha: commit, recursive: "true" }));
    } catch (err) {
      throw failed(err, `read the repository tree at ${commit.slice(0, 7)}`);
    }
    if (data.truncated) {
      throw new PrenvError(
        "MANIFEST_INVALID",
        "The repository tree is too large for GitHub to list at once; prenv cannot read a chart or overlay from it.",
      );
    }
    return data.tree.flatMap((e) => {
      const type = e.mode ? TYPES[e.mode] : undefined;
      return e.path && e.sha && type ? [{ path: e.path, type, sha: e.sha, size: e.size ?? 0 }] : [];
    });
  }

  async blob(sha: string): Promise<Uint8Array> {
    try {
      const { data } = await this.octokit.rest.git.getBlob({ ...this.repo, file_sha: sha });
      if (data.encoding !== "base64") {
        throw new PrenvError(
          "GITHUB_ERROR",
          `GitHub sent blob ${sha.slice(0, 7)} as ${data.encoding}, not base64.`,
        );
      }
      return Buffer.from(data.content, "base64");
    } catch (err) {
      throw failed(err, `read blob ${sha.slice(0, 7)}`);
    }
  }
}

function failed(err: unknown, what: string): PrenvError {
  if (err instanceof PrenvError) return err;
  return new PrenvError(
    "GITHUB_ERROR",
    `GitHub API ${status(err) ?? "request"} failed while trying to ${what}.`,
    {
      cause: err,
    },
  );
}
