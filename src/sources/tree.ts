// Selecting what a chart or an overlay needs from the repository at one commit, before a byte of
// it is downloaded: paths stay inside the repository (and inside the directory being read when
// they go through a symbolic link), sizes and counts stay under the limits, and every refusal
// says which path and why.
import { posix } from "node:path";
import type { RepositoryReader, TreeEntry } from "./ports.js";

export interface SourceLimits {
  /** Files read from the repository for one render. */
  maxFiles: number;
  /** Largest file. */
  maxFileBytes: number;
  /** All files together. */
  maxTotalBytes: number;
  /** Directory levels below a chart, and bases below an overlay. */
  maxDepth: number;
}

export const SOURCE_LIMITS: Readonly<SourceLimits> = Object.freeze({
  maxFiles: 300,
  maxFileBytes: 512 * 1024,
  maxTotalBytes: 2 * 1024 * 1024,
  maxDepth: 10,
});

/** A problem with the pull request's chart or overlay, worded for its developer. */
export class SourceProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceProblem";
  }
}

/** Most symbolic links followed while resolving one path. */
const MAX_LINK_HOPS = 20;

/**
 * The repository's tree at one commit, and the files picked from it so far (work-directory path →
 * blob), counted against the limits as they are picked.
 */
export class RepoSnapshot {
  private readonly entries: Map<string, TreeEntry>;
  private readonly links = new Map<string, string>();
  readonly picked = new Map<string, TreeEntry>();
  private total = 0;

  private constructor(
    private readonly reader: RepositoryReader,
    tree: TreeEntry[],
    readonly commit: string,
    readonly limits: SourceLimits,
  ) {
    this.entries = new Map(tree.map((e) => [e.path, e]));
  }

  static async at(reader: RepositoryReader, commit: string, limits: SourceLimits): Promise<RepoSnapshot> {
    return new RepoSnapshot(reader, await reader.tree(commit), commit, limits);
  }

  get short(): string {
    return this.commit.slice(0, 7);
  }

  entry(path: string): TreeEntry | undefined {
    return path === "" ? { path: "", type: "dir", sha: "", size: 0 } : this.entries.get(path);
  }

  /** Entries strictly below `dir` (recursive). */
  below(dir: string): TreeEntry[] {
    const prefix = dir === "" ? "" : `${dir}/`;
    return [...this.entries.values()].filter((e) => e.path.startsWith(prefix));
  }

  async read(sha: string): Promise<Uint8Array> {
    return this.reader.blob(sha);
  }

  /**
   * `path` with every symbolic link on it followed, or a problem when a link leads outside
   * `within` (a directory of the repository; "" for the whole repository) or loops.
   */
  async resolve(path: string, within: string): Promise<string> {
    let current = path;
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const parts = current.split("/");
      let linkAt = -1;
      for (let i = 1; i <= parts.length; i++) {
        if (this.entries.get(parts.slice(0, i).join("/"))?.type === "symlink") {
          linkAt = i;
          break;
        }
      }
      if (linkAt === -1) return current;
      const link = parts.slice(0, linkAt).join("/");
      const target = await this.linkTarget(link);
      const next = posix.normalize(posix.join(posix.dirname(link), target, ...parts.slice(linkAt)));
      if (target.startsWith("/") || !inside(next, within)) {
        throw new SourceProblem(
          `${link} is a symbolic link to ${quote(target)}, outside ${within === "" ? "the repository" : within}; prenv does not follow links out of the directory it reads. Replace the link with the file itself.`,
        );
      }
      current = next;
    }
    throw new SourceProblem(`${path} goes through more than ${MAX_LINK_HOPS} symbolic links (a loop?).`);
  }

  private async linkTarget(link: string): Promise<string> {
    const known = this.links.get(link);
    if (known !== undefined) return known;
    const entry = this.entries.get(link)!;
    const target = Buffer.from(await this.reader.blob(entry.sha)).toString("utf8");
    this.links.set(link, target);
    return target;
  }

  /**
   * Picks the file at `path` (links followed within `within`) to be written at `dest` in the work
   * directory. Refuses directories, submodules and anything over the limits.
   */
  async pick(path: string, within: string, dest: string): Promise<void> {
    if (this.picked.has(dest)) return;
    const real = await this.resolve(path, within);
    const entry = this.entries.get(real);
    if (!entry) throw new SourceProblem(`${path} does not exist at commit ${this.short}.`);
    if (entry.type === "submodule") {
      throw new SourceProblem(`${path} is a git submodule; prenv reads only files of this repository.`);
    }
    if (entry.type === "dir") {
      throw new SourceProblem(`${path} is a directory where a file was expected (a link to a directory?).`);
    }
    const { maxFiles, maxFileBytes, maxTotalBytes } = this.limits;
    if (entry.size > maxFileBytes) {
      throw new SourceProblem(`${path} is ${kib(entry.size)}; the limit is ${kib(maxFileBytes)} per file.`);
    }
    if (this.picked.size + 1 > maxFiles) {
      throw new SourceProblem(
        `More than ${maxFiles} files would be read; that is the limit for one preview.`,
      );
    }
    if (this.total + entry.size > maxTotalBytes) {
      throw new SourceProblem(
        `The files to read add up to more than ${kib(maxTotalBytes)}; that is the limit for one preview.`,
      );
    }
    this.total += entry.size;
    this.picked.set(dest, entry);
  }

  /** Downloads every picked file (in one request where the reader can). */
  async download(): Promise<Map<string, Uint8Array>> {
    const blobs = await this.reader.blobs([...this.picked.values()].map((e) => e.sha));
    const files = new Map<string, Uint8Array>();
    for (const [dest, entry] of this.picked) files.set(dest, blobs.get(entry.sha)!);
    return files;
  }
}

/** True when `path` (normalised, relative) is `dir` or below it; "" is the repository root. */
export function inside(path: string, dir: string): boolean {
  if (path === ".." || path.startsWith("../") || path.startsWith("/")) return false;
  return dir === "" || path === dir || path.startsWith(`${dir}/`);
}

/** `base` joined with a relative reference, normalised ("" for the root; may start with `..`). */
export function joinRepo(base: string, ref: string): string {
  const joined = posix.normalize(posix.join(base === "" ? "." : base, ref));
  return joined === "." ? "" : joined.replace(/\/+$/, "");
}

export function quote(text: string): string {
  const cut = text.length > 80 ? `${text.slice(0, 79)}…` : text;
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(cut.replace(/[\u0000-\u001f\u007f]/g, "?")).replace(/`/g, "'");
}

function kib(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
