import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  branchSlug,
  isDnsLabel,
  legacyNamespaceName,
  namespaceName,
  previewHost,
  shortSha,
} from "../../../src/environment/naming.js";

/** Namespace names: a DNS-1123 label that also starts with a letter. */
const NAMESPACE_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function hash6(owner: string, repo: string): string {
  return createHash("sha256").update(`${owner}/${repo}`.toLowerCase()).digest("hex").slice(0, 6);
}

/** 80 bits of sha256, RFC 4648 base32 in lowercase, computed another way: through a bit string. */
function hash80(owner: string, repo: string): string {
  const bits = [...createHash("sha256").update(`${owner}/${repo}`.toLowerCase()).digest()]
    .map((b) => b.toString(2).padStart(8, "0"))
    .join("")
    .slice(0, 80);
  return (bits.match(/.{5}/g) ?? [])
    .map((five) => "abcdefghijklmnopqrstuvwxyz234567"[parseInt(five, 2)])
    .join("");
}

describe("legacyNamespaceName", () => {
  it("is the name environments got before the hash grew: 6 hex digits of sha256", () => {
    expect(legacyNamespaceName({ owner: "Acme", repo: "web-app", pr: 123 })).toBe(
      `pr-123-acme-web-app-${hash6("acme", "web-app")}`,
    );
  });

  it("differs from the current name of the same pull request", () => {
    const ref = { owner: "acme", repo: "web", pr: 3 };
    expect(legacyNamespaceName(ref)).not.toBe(namespaceName(ref));
  });
});

describe("namespaceName", () => {
  it("carries 80 bits of hash: 16 base32 characters", () => {
    expect(namespaceName({ owner: "acme", repo: "web", pr: 3 })).toMatch(/^pr-3-acme-web-[a-z2-7]{16}$/);
  });

  it.each([
    { owner: "acme", repo: "web-app", pr: 123, expected: `pr-123-acme-web-app-${hash80("acme", "web-app")}` },
    {
      owner: "Acme",
      repo: "Web_App.js",
      pr: 7,
      expected: `pr-7-acme-web-app-js-${hash80("acme", "web_app.js")}`,
    },
    { owner: "a", repo: "b", pr: 1, expected: `pr-1-a-b-${hash80("a", "b")}` },
    { owner: "_", repo: ".", pr: 5, expected: `pr-5-${hash80("_", ".")}` },
  ])("$owner/$repo#$pr → $expected", ({ owner, repo, pr, expected }) => {
    expect(namespaceName({ owner, repo, pr })).toBe(expected);
  });

  it.each([
    { owner: "o".repeat(39), repo: "r".repeat(100), pr: 1 },
    { owner: "some-very-long-organisation-name", repo: "an-even-longer-repository-name-here", pr: 99999 },
    { owner: "x", repo: "y".repeat(100), pr: Number.MAX_SAFE_INTEGER },
    { owner: "trailing-dash-at-the-cut-------------------", repo: "r", pr: 12 },
  ])("stays a DNS-1123 label of at most 63 characters for $owner/$repo#$pr", (ref) => {
    const name = namespaceName(ref);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(NAMESPACE_RE);
    expect(name.startsWith(`pr-${ref.pr}-`)).toBe(true);
    expect(name.endsWith(`-${hash80(ref.owner, ref.repo)}`)).toBe(true);
  });

  it("tells apart repositories whose slugs are the same", () => {
    const a = namespaceName({ owner: "a-b", repo: "c", pr: 1 });
    const b = namespaceName({ owner: "a", repo: "b-c", pr: 1 });
    expect(a.replace(/-[a-z2-7]{16}$/, "")).toBe(b.replace(/-[a-z2-7]{16}$/, ""));
    expect(a).not.toBe(b);
  });

  it("tells apart long repositories that share the part kept after truncation", () => {
    const base = "x".repeat(80);
    expect(namespaceName({ owner: "acme", repo: `${base}-one`, pr: 1 })).not.toBe(
      namespaceName({ owner: "acme", repo: `${base}-two`, pr: 1 }),
    );
  });

  it("is stable and case-insensitive, like GitHub names", () => {
    const ref = { owner: "Acme", repo: "Web", pr: 3 };
    expect(namespaceName(ref)).toBe(namespaceName({ ...ref }));
    expect(namespaceName(ref)).toBe(namespaceName({ owner: "acme", repo: "web", pr: 3 }));
  });

  it("uses the prefix", () => {
    expect(namespaceName({ owner: "acme", repo: "web", pr: 3 }, "preview")).toMatch(
      /^preview-3-acme-web-[a-z2-7]{16}$/,
    );
  });

  it.each([
    { ref: { owner: "acme", repo: "web", pr: 0 }, prefix: "pr", error: /positive integer/ },
    { ref: { owner: "acme", repo: "web", pr: 1.5 }, prefix: "pr", error: /positive integer/ },
    { ref: { owner: "", repo: "web", pr: 1 }, prefix: "pr", error: /empty/ },
    { ref: { owner: "acme", repo: "web", pr: 1 }, prefix: "1pr", error: /starting with a letter/ },
    { ref: { owner: "acme", repo: "web", pr: 1 }, prefix: "PR", error: /lowercase/ },
    { ref: { owner: "acme", repo: "web", pr: 1 }, prefix: "p".repeat(60), error: /too long/ },
  ])("refuses $ref.pr / prefix $prefix", ({ ref, prefix, error }) => {
    expect(() => namespaceName(ref, prefix)).toThrow(error);
  });

  it("is a valid, distinct namespace for any owner, repo and PR (property)", () => {
    const name = fc.string({ minLength: 1, maxLength: 120, unit: "grapheme" });
    fc.assert(
      fc.property(name, name, fc.integer({ min: 1, max: 10_000_000 }), (owner, repo, pr) => {
        const ns = namespaceName({ owner, repo, pr });
        expect(ns.length).toBeLessThanOrEqual(63);
        expect(ns).toMatch(NAMESPACE_RE);
        expect(namespaceName({ owner, repo, pr: pr + 1 })).not.toBe(ns);
      }),
    );
  });
});

describe("branchSlug", () => {
  it.each([
    ["feature/Login_Page", "feature-login-page"],
    ["main", "main"],
    ["--Fix--Bug--", "fix-bug"],
    ["release/1.2.x", "release-1-2-x"],
    ["dependabot/npm_and_yarn/@types/node-20.1.0", "dependabot-npm-and-yarn-types-node-20-1"],
    ["ünïcödé", "n-c-d"],
    ["///", "branch"],
    ["", "branch"],
  ])("%j → %j", (branch, expected) => {
    expect(branchSlug(branch)).toBe(expected);
  });

  it("cuts at max without leaving a trailing dash", () => {
    expect(branchSlug("abcd-efgh", 5)).toBe("abcd");
    expect(branchSlug("a".repeat(100), 63)).toBe("a".repeat(63));
  });

  it("refuses a max outside 1..63", () => {
    expect(() => branchSlug("main", 0)).toThrow(/1 to 63/);
    expect(() => branchSlug("main", 64)).toThrow(/1 to 63/);
  });

  it("is always a non-empty DNS-1123 label within max (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 1, max: 63 }), (branch, max) => {
        const slug = branchSlug(branch, max);
        expect(slug.length).toBeGreaterThan(0);
        expect(slug.length).toBeLessThanOrEqual(max);
        expect(isDnsLabel(slug)).toBe(true);
      }),
    );
  });
});

describe("previewHost", () => {
  it("joins namespace and base domain, lowercased", () => {
    expect(previewHost("pr-1-acme-web-abc123", "Preview.Example.com")).toBe(
      "pr-1-acme-web-abc123.preview.example.com",
    );
    expect(previewHost("pr-1-a", "127.0.0.1.nip.io")).toBe("pr-1-a.127.0.0.1.nip.io");
    expect(previewHost("pr-1-a", "localhost")).toBe("pr-1-a.localhost");
  });

  it.each([
    "",
    "example.com.",
    "*.example.com",
    "exa mple.com",
    "-bad.example.com",
    "a..b",
    "ex_ample.com",
    `${"a".repeat(64)}.com`,
  ])("refuses base domain %j", (domain) => {
    expect(() => previewHost("pr-1-a", domain)).toThrow(/not a DNS name/);
  });

  it("refuses a namespace that is not a DNS label", () => {
    expect(() => previewHost("PR_1", "example.com")).toThrow(/not a DNS-1123 label/);
  });

  it("refuses a host longer than 253 characters", () => {
    const domain = Array.from({ length: 4 }, () => "d".repeat(60)).join(".");
    expect(() => previewHost("pr-1-abcdef", domain)).toThrow(/longer than 253/);
  });
});

describe("shortSha", () => {
  it("takes the first 7 characters, lowercased", () => {
    expect(shortSha("0123456789ABCDEF0123456789abcdef01234567")).toBe("0123456");
  });

  it.each(["", "abc", "not-a-sha-at-all", "g".repeat(40)])("refuses %j", (sha) => {
    expect(() => shortSha(sha)).toThrow(/not a commit SHA/);
  });
});
