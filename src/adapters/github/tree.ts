// The repository at one commit, the one reader for every source (a directory of manifests, a Helm
// chart, a Kustomize overlay): the git tree of the commit (one recursive listing, kept for the job)
// and blobs by their sha (base64, so binary files such as vendored chart archives arrive intact).
// Reads happen at the commit the use case names (the pull request's head), never at a branch.
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

export interface Listing {
  entries: TreeEntry[];
  /** GitHub lists at most so many entries; then the tree is incomplete. */
  truncated: boolean;
}

export class GitHubTree implements RepositoryReader {
  /** Listings by commit: a job reads a commit's tree once, whichever source asks. */
  private readonly listings = new Map<string, Promise<Listing>>();

  constructor(
    private readonly octokit: Octokit,
    private readonly repo: { owner: string; repo: string },
  ) {}

  /** Every entry of the commit's tree, and whether GitHub cut the listing short. */
  listing(commit: string): Promise<Listing> {
    let listing = this.listings.get(commit);
    if (!listing) {
      listing = this.list(commit);
      this.listings.set(commit, listing);
      listing.catch(() => this.listings.delete(commit));
    }
    return listing;
  }

  private async list(commit: string): Promise<Listing> {
    let data: Awaited<ReturnType<Octokit["rest"]["git"]["getTree"]>>["data"];
    try {
      ({ data } = await this.octokit.rest.git.getTree({ ...this.repo, tree_sha: commit, recursive: "true" }));
    } catch (err) {
      throw failed(err, `read the repository tree at ${commit.slice(0, 7)}`);
    }
    const entries = data.tree.flatMap((e) => {
      const type = e.mode ? TYPES[e.mode] : undefined;
      return e.path && e.sha && type ? [{ path: e.path, type, sha: e.sha, size: e.size ?? 0 }] : [];
    });
    return { entries, truncated: data.truncated };
  }

  async tree(commit: string): Promise<TreeEntry[]> {
    const { entries, truncated } = await this.listing(commit);
    if (truncated) {
      throw new PrenvError(
        "MANIFEST_INVALID",
        "The repository tree is too large for GitHub to list at once; prenv cannot read a chart or overlay from it.",
      );
    }
    return entries;
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
