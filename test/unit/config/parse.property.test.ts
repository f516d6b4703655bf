import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../../../src/config/parse.js";

/** Every key the file knows, per section, plus near misses. */
const SECTION_KEYS = {
  deploy: ["path", "waitForChecks", "image", "paths"],
  url: ["service", "port", "path", "host"],
  resources: ["cpu", "memory", "pods", "storage", "gpu"],
  filters: ["branches", "labels", "paths", "drafts", "draft"],
};
const TOP_KEYS = ["_extends", "isolation", "ttl", "maxTtl", "podSecurity", "tll", "__proto__", "constructor"];

/** Values that are sometimes right and often wrong for any field. */
const plausibleValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom("namespace", "vcluster", "restricted", "privileged", "72h", "0h", "7d", "1d12h", "500m"),
  fc.constantFrom("4Gi", "512m", "web", "http", "/", "deploy/preview", "../x", "main", "release/*", ""),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.anything({ maxDepth: 2 }),
);

function sectionArbitrary(keys: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.dictionary(fc.constantFrom(...keys), plausibleValue, { maxKeys: keys.length }),
    plausibleValue,
  );
}

const configLike: fc.Arbitrary<unknown> = fc.record(
  {
    ...Object.fromEntries(TOP_KEYS.map((key) => [key, plausibleValue])),
    ...Object.fromEntries(Object.entries(SECTION_KEYS).map(([key, keys]) => [key, sectionArbitrary(keys)])),
  },
  { requiredKeys: [] },
);

function expectWellFormed(raw: unknown): void {
  const result = parseRepoConfig(raw);
  if (result.ok) return;
  expect(result.problems.length).toBeGreaterThan(0);
  for (const problem of result.problems) {
    expect(typeof problem.path).toBe("string");
    expect(problem.message.length).toBeGreaterThan(0);
    expect(problem.fix.length).toBeGreaterThan(0);
  }
}

describe("parseRepoConfig on arbitrary input", () => {
  it("never throws and always answers with a config or problems for anything at all", () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true }), (raw) => {
        expectWellFormed(raw);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on objects built from the known keys with random values", () => {
    fc.assert(
      fc.property(configLike, (raw) => {
        expectWellFormed(raw);
      }),
      { numRuns: 1000 },
    );
  });

  it("never echoes more than 60 characters of a value", () => {
    fc.assert(
      fc.property(configLike, fc.string({ minLength: 61, maxLength: 200 }), (raw, long) => {
        const withLong = { ...(raw as object), isolation: long, [long]: 1 };
        const result = parseRepoConfig(withLong);
        expect(result.ok).toBe(false);
        if (result.ok) return;
        for (const problem of result.problems) {
          expect(problem.message).not.toContain(long.slice(0, 61));
        }
      }),
      { numRuns: 200 },
    );
  });
});
