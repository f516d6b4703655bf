// Which files of the repository are the PR's manifests, at its head commit: the `.yaml`/`.yml`
// files under `deploy.path`, within the limits, chosen from the repository's tree before any file
// is downloaded. The repository is read through RepoFiles (the GitHub adapter lists the tree and
// reads blobs); what is chosen, and every message about it, is decided here.
import { CONFIG_FILE } from "../config/schema.js";
import { DEFAULT_MANIFEST_LIMITS } from "./limits.js";
import { isManifestFile } from "./template.js";

export interface TreeEntry {
  path: string;
  type: "blob" | "tree" | "commit";
  /** Bytes (blobs only). */
  size: number;
}

export interface RepoTree {
  entries: TreeEntry[];
  /** GitHub lists at most so many entries; then the tree is incomplete. */
  truncated: boolean;
}

export interface RepoFile {
  path: string;
  content: string;
}

/** A repository's files at a commit, as the manifest sources read them. */
export interface RepoFiles {
  /** Every entry of the tree at `sha`, recursively. */
  tree(sha: string): Promise<RepoTree>;
  /** These files' contents at `sha`, in the order asked (entries that are not files are left out). */
  readFiles(sha: string, paths: string[]): Promise<RepoFile[]>;
}

/** Limits applied before any manifest byte is downloaded (the parser checks them again). */
export const MANIFEST_FETCH_LIMITS = {
  maxFiles: DEFAULT_MANIFEST_LIMITS.maxFiles,
  maxFileBytes: DEFAULT_MANIFEST_LIMITS.maxFileBytes,
  maxTotalBytes: DEFAULT_MANIFEST_LIMITS.maxTotalBytes,
} as const;

export type Selection = { ok: true; paths: string[] } | { ok: false; problem: string };

/** The manifest files under `dir` in `tree`, sorted, or why there are none to read. */
export function selectManifestFiles(tree: RepoTree, dir: string, sha: string): Selection {
  if (tree.truncated) {
    return {
      ok: false,
      problem: "The repository tree is too large to read; move the manifests to a smaller repository.",
    };
  }
  const prefix = dir.replace(/\/+$/, "") + "/";
  const at = sha.slice(0, 7);
  const entries = tree.entries.filter(
    (e) => e.type === "blob" && e.path.startsWith(prefix) && isManifestFile(e.path),
  );
  if (entries.length === 0) {
    const exists = tree.entries.some((e) => e.type === "tree" && e.path === prefix.slice(0, -1));
    return {
      ok: false,
      problem: exists
        ? `deploy.path '${dir}' has no .yaml or .yml files at commit ${at}.`
        : `deploy.path '${dir}' does not exist at commit ${at}; add the directory or change deploy.path in ${CONFIG_FILE}.`,
    };
  }
  const problem = limitProblem(entries, dir);
  if (problem) return { ok: false, problem };
  return { ok: true, paths: entries.map((e) => e.path).sort((a, b) => (a < b ? -1 : 1)) };
}

function limitProblem(entries: TreeEntry[], dir: string): string | null {
  const { maxFiles, maxFileBytes, maxTotalBytes } = MANIFEST_FETCH_LIMITS;
  if (entries.length > maxFiles)
    return `deploy.path '${dir}' has ${entries.length} files; the limit is ${maxFiles}.`;
  const big = entries.find((e) => e.size > maxFileBytes);
  if (big) return `${big.path} is ${big.size} bytes; the limit per file is ${maxFileBytes}.`;
  const total = entries.reduce((n, e) => n + e.size, 0);
  if (total > maxTotalBytes) {
    return `The manifests under '${dir}' total ${total} bytes; the limit is ${maxTotalBytes}.`;
  }
  return null;
}

/** The PR's manifest files under `dir` at `sha`, or the one problem that stops reading them. */
export async function readManifestFiles(
  repo: RepoFiles,
  sha: string,
  dir: string,
): Promise<{ ok: true; files: RepoFile[] } | { ok: false; problem: string }> {
  const selected = selectManifestFiles(await repo.tree(sha), dir, sha);
  if (!selected.ok) return selected;
  return { ok: true, files: await repo.readFiles(sha, selected.paths) };
}
