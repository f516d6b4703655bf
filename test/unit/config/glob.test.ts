import { describe, expect, it } from "vitest";
import { matchesAny, matchesGlob } from "../../../src/config/glob.js";

describe("matchesGlob", () => {
  it.each([
    // literal
    ["main", "main", true],
    ["main", "Main", false],
    ["main", "main2", false],
    ["main", "mai", false],
    ["", "", true],
    ["", "a", false],
    // *
    ["release/*", "release/1.0", true],
    ["release/*", "release/", true],
    ["release/*", "release/1/2", false],
    ["release/*", "release", false],
    ["*", "main", true],
    ["*", "feature/x", false],
    ["*.md", "README.md", true],
    ["*.md", "docs/README.md", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "aXXbYY", false],
    // ?
    ["v?", "v1", true],
    ["v?", "v", false],
    ["v?", "v12", false],
    ["a?b", "a/b", false],
    // **
    ["**", "anything/at/all", true],
    ["**", "", true],
    ["src/**", "src/a/b.ts", true],
    ["src/**", "src/", true],
    ["src/**", "src", false],
    ["src/**", "lib/a.ts", false],
    ["src/**/*.ts", "src/main.ts", true],
    ["src/**/*.ts", "src/a/b/main.ts", true],
    ["src/**/*.ts", "src/a/b/main.js", false],
    ["src/**/*.ts", "srcx/main.ts", false],
    ["**/*.md", "README.md", true],
    ["**/*.md", "docs/guide/intro.md", true],
    ["**/*.md", "docs/guide/intro.mdx", false],
    ["a/**/b", "a/b", true],
    ["a/**/b", "a/x/y/b", true],
    ["a/**/b", "a/xb", false],
    ["a**z", "a/b/z", true],
    ["feature/**", "feature/team/thing", true],
    // no other glob syntax
    ["[ab]", "a", false],
    ["[ab]", "[ab]", true],
    ["{a,b}", "a", false],
    ["!main", "dev", false],
    ["a.b", "aXb", false],
    ["(x)+", "(x)+", true],
  ])("%j against %j is %s", (pattern, value, expected) => {
    expect(matchesGlob(pattern, value)).toBe(expected);
  });

  it("stays fast on patterns that make backtracking regexes explode", () => {
    const pattern = `${"*a".repeat(30)}b`;
    const value = "a".repeat(5000);
    const started = performance.now();
    expect(matchesGlob(pattern, value)).toBe(false);
    expect(matchesGlob(`${"**a".repeat(30)}b`, `${"a/".repeat(2500)}`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("matchesAny", () => {
  it("is false for no patterns", () => {
    expect(matchesAny([], "main")).toBe(false);
  });

  it("is true when one of several patterns matches", () => {
    expect(matchesAny(["main", "release/*"], "release/2.0")).toBe(true);
  });

  it("is false when none of several patterns matches", () => {
    expect(matchesAny(["main", "release/*"], "feature/x")).toBe(false);
  });
});
