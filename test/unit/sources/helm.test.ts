import { describe, expect, it } from "vitest";
import {
  errorLines,
  expandDotted,
  helmProblem,
  helmRun,
  splitHelmOutput,
} from "../../../src/sources/helm.js";
import { splitImage } from "../../../src/sources/kustomize.js";
import { inside, joinRepo } from "../../../src/sources/tree.js";

describe("expandDotted", () => {
  it("nests dotted keys, later keys winning", () => {
    expect(expandDotted({ "image.tag": "a", "image.repository": "r", replicas: 2, "a.b.c": true })).toEqual({
      image: { tag: "a", repository: "r" },
      replicas: 2,
      a: { b: { c: true } },
    });
    expect(expandDotted({ image: "x", "image.tag": "t" })).toEqual({ image: { tag: "t" } });
  });

  it("keeps __proto__ and constructor as plain keys, never touching prototypes", () => {
    const out = expandDotted({ "__proto__.polluted": "yes", "constructor.prototype.x": 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"x":1}}}');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});

describe("helmRun", () => {
  it("renders offline with the host's version, no hooks, the values files in order, then set, then prenv's", () => {
    const run = helmRun(
      { chart: "deploy/chart", values: ["a.yaml", "b/c.yaml"], set: { x: 1 }, releaseName: "pr-7" },
      {
        files: new Map(),
        prenv: { host: "h", namespace: "n", pr: 7, sha: "s", shortSha: "s", branchSlug: "b", image: null },
        namespace: "n",
        kubeVersion: "v1.34",
        includeCrds: false,
      },
    );
    expect(run.tool).toBe("helm");
    expect(run.args).toEqual([
      "template",
      "pr-7",
      "repo/deploy/chart",
      "--namespace",
      "n",
      "--kube-version",
      "v1.34",
      "--no-hooks",
      "--values",
      "repo/a.yaml",
      "--values",
      "repo/b/c.yaml",
      "--values",
      "prenv/set.json",
      "--values",
      "prenv/prenv.json",
    ]);
    expect(JSON.parse(Buffer.from(run.files.get("prenv/prenv.json")!).toString())).toEqual({
      prenv: { host: "h", namespace: "n", pr: 7, sha: "s", shortSha: "s", branchSlug: "b", image: null },
    });
  });
});

describe("splitHelmOutput", () => {
  it("names each document by the template that produced it, in the repository", () => {
    const out = [
      "---",
      "# Source: web/templates/a.yaml",
      "kind: A",
      "---",
      "# Source: web/templates/a.yaml",
      "kind: A2",
      "---",
      "# Source: web/charts/redis/templates/svc.yaml",
      "kind: S",
      "",
    ].join("\n");
    const files = splitHelmOutput(out, "web", "deploy/chart");
    expect(files.map((f) => f.path)).toEqual([
      "deploy/chart/templates/a.yaml",
      "deploy/chart/charts/redis/templates/svc.yaml",
    ]);
    expect(files[0]!.content).toContain("kind: A\n");
    expect(files[0]!.content).toContain("---\n# Source: web/templates/a.yaml\nkind: A2");
  });
});

describe("helmProblem", () => {
  it("names the template file and line, in the repository", () => {
    const stderr =
      'Error: web/templates/broken.yaml:4:18\n  executing "web/templates/broken.yaml" at <.Values.nope.name>:\n    nil pointer evaluating interface {}.name\n\nUse --debug flag to render out invalid YAML\n';
    expect(helmProblem(stderr, "web", "deploy/chart")).toBe(
      'deploy/chart/templates/broken.yaml line 4: helm template failed: deploy/chart/templates/broken.yaml:4:18 executing "deploy/chart/templates/broken.yaml" at <.Values.nope.name>: nil pointer evaluating interface {}.name',
    );
  });

  it("names a values file's line, and a template's rendered YAML line", () => {
    expect(
      helmProblem(
        "Error: failed to parse repo/deploy/v.yaml: error converting YAML to JSON: yaml: line 3: x\n",
        "web",
        "deploy/chart",
      ),
    ).toMatch(/^deploy\/v\.yaml line 3: /);
    expect(
      helmProblem(
        "Error: YAML parse error on web/templates/f.yaml: error converting YAML to JSON: yaml: line 6: could not find expected ':'\n",
        "web",
        "deploy/chart",
      ),
    ).toMatch(/^deploy\/chart\/templates\/f\.yaml \(rendered\) line 6: /);
    expect(helmProblem("Error: execution error at (web/templates/f.yaml:5:10): boom\n", "web", "c")).toMatch(
      /^c\/templates\/f\.yaml line 5: helm template failed: execution error at \(c\/templates\/f\.yaml:5:10\): boom$/,
    );
  });

  it("keeps both ends of a very long message", () => {
    const long = `Error: ${"x".repeat(5000)} the cause\n`;
    const text = errorLines(long);
    expect(text.length).toBeLessThan(600);
    expect(text.endsWith("the cause")).toBe(true);
  });
});

describe("paths and images", () => {
  it("joins and bounds repository paths", () => {
    expect(joinRepo("deploy/overlays/preview", "../../base")).toBe("deploy/base");
    expect(joinRepo("", "x/./y/")).toBe("x/y");
    expect(joinRepo("a", "..")).toBe("");
    expect(inside(joinRepo("a/b", "../../../etc"), "")).toBe(false);
    expect(inside("deploy/chartx/a", "deploy/chart")).toBe(false);
    expect(inside("deploy/chart/a", "deploy/chart")).toBe(true);
  });

  it("splits an image reference for a kustomize images override", () => {
    expect(splitImage("ghcr.io/acme/web:abc")).toEqual({ newName: "ghcr.io/acme/web", newTag: "abc" });
    expect(splitImage("localhost:5000/web")).toEqual({ newName: "localhost:5000/web" });
    expect(splitImage("web@sha256:0123")).toEqual({ newName: "web", digest: "sha256:0123" });
  });
});
