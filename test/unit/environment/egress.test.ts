import { describe, expect, it } from "vitest";
import { ceilingProblems } from "../../../src/environment/ceilings.js";
import { contains, egressProblems, parseCidr } from "../../../src/environment/egress.js";
import { parseRepoConfig } from "../../../src/config/parse.js";
import { DEFAULT_EGRESS_DENY } from "../../../src/runtime/env-schema.js";
import { testSettings } from "../../support/settings.js";

describe("parseCidr and contains", () => {
  it.each([
    ["10.0.0.0/8", "10.1.2.0/24", true],
    ["10.0.0.0/8", "11.0.0.0/8", false],
    ["0.0.0.0/0", "169.254.169.254/32", true],
    ["169.254.169.254/32", "169.254.0.0/16", false],
    ["fc00::/7", "fd00:ec2::254/128", true],
    ["fe80::/10", "fd00:ec2::254/128", false],
    ["::/0", "2001:db8::/32", true],
    ["0.0.0.0/0", "2001:db8::/32", false],
  ])("%s holds %s: %s", (outer, inner, expected) => {
    expect(contains(parseCidr(outer)!, parseCidr(inner)!)).toBe(expected);
  });

  it.each(["10.0.0.0", "10.0.0.0/33", "256.0.0.0/8", "1::2::3/64", "::/129", "x/8", "10.0.0.0/8/1"])(
    "refuses %j",
    (text) => {
      expect(parseCidr(text)).toBeNull();
    },
  );
});

describe("egress a repository may ask for", () => {
  it("refuses ranges inside the operator's private ranges, IPv6 metadata included", () => {
    expect(
      egressProblems(["203.0.113.0/24", "10.20.0.0/16", "fd00:ec2::254/128"], DEFAULT_EGRESS_DENY),
    ).toEqual([
      "10.20.0.0/16 is inside 10.0.0.0/8, which this installation does not let previews reach",
      "fd00:ec2::254/128 is inside fc00::/7, which this installation does not let previews reach",
    ]);
    expect(egressProblems("internet", DEFAULT_EGRESS_DENY)).toEqual([]);
  });
});

describe("ceilings", () => {
  const settings = testSettings({
    PRENV_MAX_CPU: "4",
    PRENV_MAX_MEMORY: "8Gi",
    PRENV_MAX_PODS: "30",
  }).environment;
  const problems = (raw: unknown) => {
    const parsed = parseRepoConfig(raw);
    if (!parsed.ok) throw new Error("test config invalid");
    return ceilingProblems(parsed.config, settings);
  };

  it("accepts a quota at the ceiling", () => {
    expect(problems({ resources: { cpu: "4", memory: "8Gi", pods: 30 } })).toEqual([]);
  });

  it("names each ceiling a quota is over, and the setting behind it", () => {
    const found = problems({ resources: { cpu: "4500m", memory: "9Gi", pods: 31, storage: "51Gi" } });
    expect(found.map((p) => p.path)).toEqual([
      "resources.cpu",
      "resources.memory",
      "resources.storage",
      "resources.pods",
    ]);
    expect(found[0]!.message).toBe(
      "4500m is more than this installation allows (4, set by its operators as PRENV_MAX_CPU)",
    );
    expect(found[3]!.message).toContain("PRENV_MAX_PODS");
  });
});
