// What rendering a Helm chart or a Kustomize overlay needs from the outside world: the repository
// at one commit (GitHub's git trees and blobs), a pinned tool run in a sandbox, and the host's
// Kubernetes version. Adapters: src/adapters/github/tree.ts, src/adapters/tools/runner.ts and
// src/runtime/host-settings.ts (the version, shared with the Pod Security pin).

/** One entry of a repository's git tree, as GitHub lists it. */
export interface TreeEntry {
  /** Path from the repository root, `/`-separated. */
  path: string;
  /** file (mode 100644/100755), dir, symlink (120000: the blob holds the target), submodule. */
  type: "file" | "dir" | "symlink" | "submodule";
  /** The git object id (blob or tree). */
  sha: string;
  /** Bytes (files and symlinks). */
  size: number;
}

/** The repository at one commit. */
export interface RepositoryReader {
  /** Every entry of the commit's tree. Throws PrenvError MANIFEST_INVALID if GitHub truncated it. */
  tree(commit: string): Promise<TreeEntry[]>;
  /** A blob's bytes. */
  blob(sha: string): Promise<Uint8Array>;
  /** Several blobs' bytes, by sha (as few requests as the reader can). */
  blobs(shas: readonly string[]): Promise<Map<string, Uint8Array>>;
}

export type ToolName = "helm" | "kustomize";

/** A run of a pinned tool in a fresh work directory. */
export interface ToolRun {
  tool: ToolName;
  /** Arguments; paths in them are relative to the work directory. */
  args: string[];
  /** Files written into the work directory first (relative paths, never `..`). */
  files: ReadonlyMap<string, Uint8Array>;
}

export type ToolResult =
  | { ok: true; stdout: string }
  | {
      ok: false;
      /** exit: the tool failed; timeout, output and memory: prenv stopped it at a limit. */
      reason: "exit" | "timeout" | "output" | "memory";
      /** The tool's error output (capped), work directory paths already made relative. */
      stderr: string;
    };

/** Runs helm or kustomize with no credentials, no network configuration and bounded resources. */
export interface ToolRunner {
  run(run: ToolRun): Promise<ToolResult>;
  /** The limits it enforces, for messages. */
  readonly limits: { timeoutMs: number; maxOutputBytes: number; memoryBytes: number };
}

/** Everything the rendering use case needs; absent when the installation has no tools. */
export interface RenderDeps {
  repository: RepositoryReader;
  tools: ToolRunner;
  /** The host cluster's Kubernetes version (e.g. v1.34), for `helm template --kube-version`. */
  kubeVersion(): Promise<string>;
}
