// deploy.path, deploy.helm and deploy.kustomize: exactly one says what to deploy, each with clear
// messages for what is wrong.
import { describe, expect, it } from "vitest";
import { formatProblems, parseRepoConfig, type ConfigProblem } from "../../../src/config/parse.js";
import { CONFIG_FILE, type RepoConfig } from "../../../src/config/schema.js";

function configOf(raw: unknown): RepoConfig {
  const result = parseRepoConfig(raw);
  if (!result.ok) throw new Error(formatProblems(CONFIG_FILE, result.problems));
  return result.config;
}

function problemsOf(raw: unknown): ConfigProblem[] {
  const result = parseRepoConfig(raw);
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.config)}`);
  return result.problems;
}

describe("deploy sources", () => {
  it("keeps deploy/preview as the default when neither helm nor kustomize is given", () => {
    expect(configOf({}).deploy).toEqual({ path: "deploy/preview", waitForChecks: [] });
    expect(configOf({ deploy: { path: "k8s" } }).deploy.path).toBe("k8s");
  });

  it("reads deploy.helm with defaults, and sets no path", () => {
    expect(configOf({ deploy: { helm: { chart: "deploy/chart" } } }).deploy).toEqual({
      helm: { chart: "deploy/chart", values: [], set: {} },
      waitForChecks: [],
    });
    const full = configOf({
      deploy: {
        image: "ghcr.io/acme/web:{{sha}}",
        helm: {
          chart: "charts/web/",
          values: ["charts/web/values-preview.yaml", "deploy/extra.yaml"],
          set: { "image.tag": "{{shortSha}}", replicas: 1, "ingress.enabled": false, "x.y": null },
          releaseName: "web",
        },
      },
    }).deploy;
    expect(full.path).toBeUndefined();
    expect(full.helm).toEqual({
      chart: "charts/web/",
      values: ["charts/web/values-preview.yaml", "deploy/extra.yaml"],
      set: { "image.tag": "{{shortSha}}", replicas: 1, "ingress.enabled": false, "x.y": null },
      releaseName: "web",
    });
  });

  it("reads deploy.kustomize with defaults", () => {
    expect(configOf({ deploy: { kustomize: { path: "deploy/overlays/preview" } } }).deploy).toEqual({
      kustomize: { path: "deploy/overlays/preview", images: [] },
      waitForChecks: [],
    });
  });

  it("refuses two sources at once, saying they are alternatives", () => {
    for (const deploy of [
      { path: "deploy/preview", helm: { chart: "c" } },
      { helm: { chart: "c" }, kustomize: { path: "k" } },
      { path: "p", kustomize: { path: "k" } },
    ]) {
      const problems = problemsOf({ deploy });
      expect(problems).toHaveLength(1);
      expect(problems[0]!.message).toMatch(
        /^deploy\.\w+ and deploy\.\w+ are alternatives, and only one can be given$/,
      );
      expect(problems[0]!.fix).toMatch(
        /path for plain manifests, helm for a chart, kustomize for an overlay/,
      );
    }
  });

  it("refuses paths outside the repository in chart, values and overlay", () => {
    const problems = problemsOf({
      deploy: { helm: { chart: "../other", values: ["/etc/passwd", "ok.yaml", "a/../../b.yaml"] } },
    });
    expect(problems.map((p) => p.path)).toEqual([
      "deploy.helm.chart",
      "deploy.helm.values[0]",
      "deploy.helm.values[2]",
    ]);
    expect(problems[0]!.message).toContain("contains '..'");
    expect(problems[1]!.message).toContain("starts with '/'");
    expect(problemsOf({ deploy: { kustomize: { path: "..\\\\x" } } })[0]!.path).toBe("deploy.kustomize.path");
  });

  it("explains bad set keys and values, and keeps prenv.* for prenv", () => {
    const problems = problemsOf({
      deploy: {
        helm: {
          chart: "c",
          set: { "image tag": "x", "prenv.host": "evil.example.com", list: [1, 2], "a..b": 1 },
        },
      },
    });
    const text = JSON.stringify(problems);
    expect(text).toContain("is not a dotted values key such as image.tag");
    expect(text).toContain("is one of the prenv values, which prenv sets itself");
    expect(text).toContain("is not a text, number, boolean or null value");
    expect(problems.every((p) => p.path.startsWith("deploy.helm.set"))).toBe(true);
  });

  it("points a top-level helm or kustomize to its place under deploy", () => {
    const problems = problemsOf({ helm: { chart: "c" }, kustomize: { path: "k" } });
    expect(problems.map((p) => p.message)).toEqual([
      "unknown key 'helm' at the top level — did you mean 'deploy.helm'?",
      "unknown key 'kustomize' at the top level — did you mean 'deploy.kustomize'?",
    ]);
    expect(problems[0]!.fix).toBe("Move it under deploy: e.g. `deploy: { helm: ... }`.");
  });

  it("names unknown keys and a missing chart or overlay path", () => {
    const unknown = problemsOf({ deploy: { helm: { chart: "c", valuesFiles: ["v.yaml"] } } });
    expect(unknown[0]).toMatchObject({ path: "deploy.helm.valuesFiles" });
    expect(unknown[0]!.message).toContain("values");
    expect(problemsOf({ deploy: { helm: {} } })[0]).toMatchObject({ path: "deploy.helm.chart" });
    expect(problemsOf({ deploy: { kustomize: { images: ["web"] } } })[0]).toMatchObject({
      path: "deploy.kustomize.path",
    });
    expect(problemsOf({ deploy: { helm: { chart: "c", releaseName: "Web_App" } } })[0]!.message).toContain(
      "is not a valid release name",
    );
  });
});
