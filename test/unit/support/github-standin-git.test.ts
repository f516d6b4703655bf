// The stand-in's git data as GitHub serves it, checked against real git: blob and tree ids as
// `git hash-object` and `git write-tree` compute them (symbolic links and binary files included),
// the blobs API (base64 in 60-column lines, or raw bytes), trees with mode 120000 for links, and
// the contents API's documented answers for links.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGitHubStandIn, type GitHubStandIn, type RepoFile } from "../../support/github-standin.js";

const SHA = "c".repeat(40);
const BINARY = Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00, 0x80, 0x7f, 0x0a]);
const FILES: Record<string, RepoFile> = {
  "chart/Chart.yaml": "name: web\n",
  "chart/charts/redis-1.0.0.tgz": BINARY,
  "chart/values-link.yaml": { symlink: "Chart.yaml" },
  "chart/up": { symlink: "../outside" },
  "chart/dirlink": { symlink: "charts" },
  "outside/secret.txt": "s\n",
};

let standIn: GitHubStandIn;
let octokit: Octokit;
let git: string;

/** The same files in a real git repository: ids computed by git itself. */
function gitRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "prenv-standin-git-"));
  for (const [path, file] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    if (typeof file === "object" && "symlink" in file) symlinkSync(file.symlink, join(dir, path));
    else writeFileSync(join(dir, path), file);
  }
  const run = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
  run("init", "-q");
  run("add", "-A");
  return dir;
}

beforeAll(async () => {
  standIn = await startGitHubStandIn();
  octokit = new Octokit({ baseUrl: standIn.url });
  standIn.contents("acme", "web", FILES, SHA, {
    expect: { get: { optional: true }, tree: { optional: true }, blob: { optional: true } },
  });
  git = gitRepo();
});
afterAll(async () => {
  await standIn.close();
  rmSync(git, { recursive: true, force: true });
});

function gitOut(...args: string[]): string {
  return execFileSync("git", args, { cwd: git, encoding: "utf8" }).trim();
}

describe("git trees and blobs", () => {
  it("lists the recursive tree with git's modes, ids and sizes (links as mode 120000 blobs)", async () => {
    const { data } = await octokit.rest.git.getTree({
      owner: "acme",
      repo: "web",
      tree_sha: SHA,
      recursive: "1",
    });
    const fromGit = gitOut("ls-tree", "-r", "-t", "-l", gitOut("write-tree"))
      .split("\n")
      .map((line) => {
        const [meta, path] = line.split("\t");
        const [mode, type, sha, size] = meta!.split(/\s+/);
        return {
          path,
          mode: mode === "040000" ? "040000" : mode,
          type,
          sha,
          ...(size === "-" ? {} : { size: Number(size) }),
        };
      })
      .sort((a, b) => a.path!.localeCompare(b.path!));
    const served = data.tree
      .map((e) => ({
        path: e.path,
        mode: e.mode,
        type: e.type,
        sha: e.sha,
        ...(e.size === undefined ? {} : { size: e.size }),
      }))
      .sort((a, b) => a.path.localeCompare(b.path));
    expect(served).toEqual(fromGit);
    expect(data.sha).toBe(gitOut("write-tree"));
    expect(data.truncated).toBe(false);
  });

  it("serves a blob as base64 in 60-column lines, or its raw bytes, and 404 for an unknown id", async () => {
    const sha = gitOut("hash-object", "chart/charts/redis-1.0.0.tgz");
    const { data } = await octokit.rest.git.getBlob({ owner: "acme", repo: "web", file_sha: sha });
    expect(data).toMatchObject({ sha, size: BINARY.length, encoding: "base64" });
    expect(data.content.split("\n").every((l) => l.length <= 60)).toBe(true);
    expect(new Uint8Array(Buffer.from(data.content, "base64"))).toEqual(BINARY);
    const link = await octokit.rest.git.getBlob({
      owner: "acme",
      repo: "web",
      file_sha: gitOut("rev-parse", `${gitOut("write-tree")}:chart/up`),
    });
    expect(Buffer.from(link.data.content, "base64").toString()).toBe("../outside");
    const raw = await octokit.request("GET /repos/{owner}/{repo}/git/blobs/{file_sha}", {
      owner: "acme",
      repo: "web",
      file_sha: gitOut("hash-object", "chart/Chart.yaml"),
      mediaType: { format: "raw" },
    });
    expect(raw.data).toBe("name: web\n");
    const missing = await octokit.rest.git
      .getBlob({ owner: "acme", repo: "web", file_sha: "0".repeat(40) })
      .catch((e: { status: number }) => e);
    expect(missing).toMatchObject({ status: 404 });
  });
});

describe("contents API and symbolic links", () => {
  it("answers a link to a normal file with that file, and any other link with type symlink and its target", async () => {
    const file = await octokit.rest.repos.getContent({
      owner: "acme",
      repo: "web",
      path: "chart/values-link.yaml",
      ref: SHA,
    });
    expect(file.data).toMatchObject({ type: "file", path: "chart/Chart.yaml", encoding: "base64" });
    const toDir = await octokit.rest.repos.getContent({
      owner: "acme",
      repo: "web",
      path: "chart/dirlink",
      ref: SHA,
    });
    expect(toDir.data).toMatchObject({ type: "symlink", target: "charts", path: "chart/dirlink" });
    const listing = await octokit.rest.repos.getContent({
      owner: "acme",
      repo: "web",
      path: "chart",
      ref: SHA,
    });
    expect((listing.data as { name: string; type: string }[]).map((e) => [e.name, e.type])).toEqual([
      ["Chart.yaml", "file"],
      ["charts", "dir"],
      ["dirlink", "symlink"],
      ["up", "symlink"],
      ["values-link.yaml", "symlink"],
    ]);
  });
});
