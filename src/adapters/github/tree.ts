// The repository at one commit, the one reader for every source (a directory of manifests, a Helm
// chart, a Kustomize overlay): the git tree of the commit (one recursive listing, kept for the job)
// and blobs by their sha. The files a source picked come in one GraphQL request (up to
// BLOBS_PER_QUERY of them, each by object id); a blob GraphQL cannot give as text (binary, such as
// a vendored chart archive, or cut short) comes by REST, base64, so it arrives intact. Reads happen
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

/** Blobs asked for in one GraphQL request. */
export const BLOBS_PER_QUERY = 50;

const SHA = /^[0-9a-f]{40}$/;

interface BlobNode {
  text: string | null;
  isBinary: boolean | null;
  isTruncated: boolean;
}

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

  async blobs(shas: readonly string[]): Promise<Map<string, Uint8Array>> {
    const wanted = [...new Set(shas)];
    const out = new Map<string, Uint8Array>();
    if (wanted.length === 1) out.set(wanted[0]!, await this.blob(wanted[0]!));
    if (wanted.length <= 1) return out;
    for (let i = 0; i < wanted.length; i += BLOBS_PER_QUERY) {
      const chunk = wanted.slice(i, i + BLOBS_PER_QUERY);
      const nodes = await this.textBlobs(chunk);
      for (const [j, sha] of chunk.entries()) {
        const node = nodes[`b${j}`];
        const text = node && !node.isBinary && !node.isTruncated ? node.text : null;
        out.set(sha, text !== null ? Buffer.from(text, "utf8") : await this.blob(sha));
      }
    }
    return out;
  }

  /** One GraphQL request: each blob under an alias `b<i>`, null where there is none. */
  private async textBlobs(shas: string[]): Promise<Record<string, BlobNode | null>> {
    for (const sha of shas) {
      if (!SHA.test(sha)) throw new PrenvError("GITHUB_ERROR", `'${sha.slice(0, 12)}' is not a blob id.`);
    }
    const params = shas.map((_, i) => `$b${i}: GitObjectID!`).join(", ");
    const fields = shas
      .map((_, i) => `b${i}: object(oid: $b${i}) { ... on Blob { text isBinary isTruncated } }`)
      .join("\n    ");
    const query = `query prenvBlobs($owner: String!, $name: String!, ${params}) {\n  repository(owner: $owner, name: $name) {\n    ${fields}\n  }\n}`;
    const variables: Record<string, string> = { owner: this.repo.owner, name: this.repo.repo };
    shas.forEach((sha, i) => (variables[`b${i}`] = sha));
    try {
      const data = await this.octokit.graphql<{ repository: Record<string, BlobNode | null> | null }>(
        query,
        variables,
      );
      return data.repository ?? {};
    } catch (err) {
      throw failed(err, `read ${shas.length} files at once`);
    }
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
