// Finding and reading .github/prenv.yml: same-owner _extends only, strict YAML with line numbers,
// empty file = defaults. The source here is a map of files; the GitHub adapter serves the same reads
// from the contents API (covered end to end in the cluster tier).
import { describe, expect, it } from "vitest";
import { loadRepoConfig, type ConfigSource } from "../../../src/config/load.js";
import { parseRepoConfig } from "../../../src/config/parse.js";

function source(files: Record<string, string>): ConfigSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read(owner, repo, path) {
      const key = `${owner}/${repo}:${path}`;
      reads.push(key);
      return Promise.resolve(files[key] ?? null);
    },
  };
}

const FILE = ".github/prenv.yml";
const defaults = (parseRepoConfig({}) as { ok: true; config: unknown }).config;

async function problems(files: Record<string, string>) {
  const result = await loadRepoConfig(source(files), "acme", "web");
  if (result.kind !== "invalid") throw new Error(`expected invalid, got ${result.kind}`);
  return result.problems;
}

describe("loadRepoConfig: where the file comes from", () => {
  it("has no config without a file in the repository or the organisation's .github", async () => {
    const s = source({});
    expect(await loadRepoConfig(s, "acme", "web")).toEqual({ kind: "missing" });
    expect(s.reads).toEqual([`acme/web:${FILE}`, `acme/.github:${FILE}`]);
  });

  it("reads an empty file as every default (an empty file opts in)", async () => {
    expect(await loadRepoConfig(source({ [`acme/web:${FILE}`]: "" }), "acme", "web")).toEqual({
      kind: "ok",
      config: defaults,
    });
    expect(
      await loadRepoConfig(source({ [`acme/web:${FILE}`]: "# only a comment\n" }), "acme", "web"),
    ).toEqual({
      kind: "ok",
      config: defaults,
    });
  });

  it("falls back to the organisation's .github repository", async () => {
    const result = await loadRepoConfig(source({ [`acme/.github:${FILE}`]: "ttl: 1d\n" }), "acme", "web");
    expect(result.kind === "ok" && result.config.ttl).toBe("1d");
  });

  it("merges the repository's file over a same-owner base (mappings merge, values replace)", async () => {
    const result = await loadRepoConfig(
      source({
        [`acme/web:${FILE}`]: "_extends: shared:prenv/base.yml\nresources: { cpu: '1' }\n",
        "acme/shared:prenv/base.yml": "ttl: 2d\nresources: { memory: 1Gi }\nfilters: { labels: [a, b] }\n",
      }),
      "acme",
      "web",
    );
    expect(result.kind).toBe("ok");
    if (result.kind !== "ok") return;
    expect(result.config.ttl).toBe("2d");
    expect(result.config.resources).toMatchObject({ cpu: "1", memory: "1Gi" });
    expect(result.config.filters.labels).toEqual(["a", "b"]);
  });

  it("accepts acme/.github and .github as the same owner's base", async () => {
    for (const base of [".github", "acme/.github", "ACME/.github"]) {
      const result = await loadRepoConfig(
        source({ [`acme/web:${FILE}`]: `_extends: ${base}\n`, [`acme/.github:${FILE}`]: "ttl: 5d\n" }),
        "acme",
        "web",
      );
      expect(result.kind === "ok" && result.config.ttl).toBe("5d");
    }
  });

  it("refuses _extends to another owner's repository, and never reads it", async () => {
    const s = source({
      [`acme/web:${FILE}`]: "_extends: evil/base\n",
      [`evil/base:${FILE}`]: "deploy: { path: pwn }\nttl: 7d\n",
    });
    const result = await loadRepoConfig(s, "acme", "web");
    expect(result.kind).toBe("invalid");
    expect(s.reads).toEqual([`acme/web:${FILE}`]);
    expect(result.kind === "invalid" && result.problems[0]!.message).toMatch(
      /another owner \('evil'\); prenv only follows _extends within acme/,
    );
  });

  it("says so when _extends names a repository or file that does not exist", async () => {
    const [p] = await problems({ [`acme/web:${FILE}`]: "_extends: nowhere\n" });
    expect(p!.message).toMatch(/_extends names acme\/nowhere:\.github\/prenv\.yml, which does not exist/);
  });

  it("stops an _extends loop and an over-long chain", async () => {
    const [loop] = await problems({
      [`acme/web:${FILE}`]: "_extends: a\n",
      [`acme/a:${FILE}`]: "_extends: web\n",
    });
    expect(loop!.message).toMatch(/a loop/);
    const [chain] = await problems({
      [`acme/web:${FILE}`]: "_extends: a\n",
      [`acme/a:${FILE}`]: "_extends: b\n",
      [`acme/b:${FILE}`]: "_extends: c\n",
      [`acme/c:${FILE}`]: "_extends: d\n",
      [`acme/d:${FILE}`]: "ttl: 1d\n",
    });
    expect(chain!.message).toMatch(/more than 3 files deep/);
  });

  it.each(["../x", "a b", "acme/", "x:/etc/passwd", "x:../../y"])("refuses _extends %j", async (value) => {
    const [p] = await problems({ [`acme/web:${FILE}`]: `_extends: ${JSON.stringify(value)}\n` });
    expect(p!.message).toMatch(/_extends (is not a repository name|has a path outside)/);
  });
});

describe("loadRepoConfig: strict YAML, reported with the line and the cause", () => {
  it.each([
    ["a duplicate key", "ttl: 1d\nisolation: namespace\nttl: 2d\n", /line 3/, /a key appears twice/],
    ["a tab indent", "deploy:\n\tpath: x\n", /line 2/, /tab/],
    ["an unclosed bracket", "filters: { labels: [a, b }\n", /line 1/, /invalid YAML/],
  ])("%s", async (_what, text, where, cause) => {
    const [p] = await problems({ [`acme/web:${FILE}`]: text });
    expect(p!.path).toMatch(where);
    expect(p!.message).toMatch(cause);
  });

  it("refuses an alias bomb", async () => {
    const bomb = "a: &a [x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n";
    const [p] = await problems({ [`acme/web:${FILE}`]: bomb });
    expect(p!.message).toMatch(/aliases \(\*name\) more than 10 times/);
  });

  it("refuses deep nesting", async () => {
    const [p] = await problems({ [`acme/web:${FILE}`]: `deploy: ${"[".repeat(40)}${"]".repeat(40)}\n` });
    expect(p!.message).toMatch(/nested more than 16 levels/);
  });

  it("refuses a file over 64 KiB", async () => {
    const [p] = await problems({ [`acme/web:${FILE}`]: `# ${"x".repeat(70_000)}\n` });
    expect(p!.message).toMatch(/larger than 64 KiB/);
  });

  it.each(["__proto__", "constructor", "prototype"])(
    "refuses a %s key at any depth, naming it and its line",
    async (key) => {
      for (const text of [`${key}:\n  ttl: 1d\n`, `ttl: 1d\ndeploy:\n  ${key}: { path: x }\n`]) {
        const [p] = await problems({ [`acme/web:${FILE}`]: text });
        expect(p!.message).toMatch(new RegExp(`line \\d: the key '${key}' is not allowed`));
      }
    },
  );
});
