import { describe, expect, it } from "vitest";
import { decideClusterTier, isRequired } from "../../cluster/harness/tier.js";

// PATH without Go: the tier must then skip locally and refuse in CI.
const noGo = { PATH: "/nonexistent" };

describe("cluster tier decision", () => {
  it("uses PRENV_TEST_KUBECONFIG when set, even without Go", () => {
    expect(decideClusterTier({ ...noGo, PRENV_TEST_KUBECONFIG: "/tmp/kc" })).toEqual({
      mode: "external",
      kubeconfig: "/tmp/kc",
    });
  });

  it("skips with a reason on a developer machine without Go or a kubeconfig", () => {
    const tier = decideClusterTier(noGo);
    expect(tier.mode).toBe("skip");
    expect(tier.mode === "skip" && tier.reason).toMatch(/neither Go nor PRENV_TEST_KUBECONFIG/);
  });

  it.each([{ CI: "true" }, { CI: "1" }, { PRENV_REQUIRE_CLUSTER: "1" }])(
    "refuses to skip where the tier is required (%o)",
    (env) => {
      expect(() => decideClusterTier({ ...noGo, ...env })).toThrow(/required here \(CI\) but cannot start/);
    },
  );

  it("does not honour PRENV_SKIP_CLUSTER in CI", () => {
    expect(() => decideClusterTier({ ...noGo, CI: "true", PRENV_SKIP_CLUSTER: "1" })).toThrow(/required/);
    expect(decideClusterTier({ ...noGo, PRENV_SKIP_CLUSTER: "1" })).toEqual({
      mode: "skip",
      reason: "PRENV_SKIP_CLUSTER=1",
    });
  });

  it("treats CI=false and an empty CI as not required", () => {
    expect(isRequired({ CI: "false" })).toBe(false);
    expect(isRequired({ CI: "" })).toBe(false);
  });
});
