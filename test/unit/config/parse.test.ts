import { describe, expect, it } from "vitest";
import { formatProblems, parseRepoConfig, type ConfigProblem } from "../../../src/config/parse.js";
import { CONFIG_FILE, type RepoConfig } from "../../../src/config/schema.js";

function problemsOf(raw: unknown): ConfigProblem[] {
  const result = parseRepoConfig(raw);
  if (result.ok) throw new Error(`expected problems, got config ${JSON.stringify(result.config)}`);
  return result.problems;
}

function configOf(raw: unknown): RepoConfig {
  const result = parseRepoConfig(raw);
  if (!result.ok) throw new Error(`expected a config, got ${formatProblems(CONFIG_FILE, result.problems)}`);
  return result.config;
}

const DEFAULTS: RepoConfig = {
  isolation: "namespace",
  ttl: "72h",
  maxTtl: "7d",
  deploy: { path: "deploy/preview", waitForChecks: [] },
  resources: { cpu: "2", memory: "4Gi", pods: 20, storage: "10Gi" },
  egress: { allow: "internet" },
  sleep: {},
  warnBeforeExpiry: "24h",
  ttlRenewOnPush: false,
  forks: "approve",
  podSecurity: "restricted",
  filters: { branches: [], labels: [], paths: [], drafts: false },
};

describe("parseRepoConfig: valid files", () => {
  it("accepts a file with just `isolation: namespace` and fills in every default", () => {
    expect(configOf({ isolation: "namespace" })).toEqual(DEFAULTS);
  });

  it("accepts an empty mapping and fills in every default", () => {
    expect(configOf({})).toEqual(DEFAULTS);
  });

  it("fills in defaults inside sections that are only partly written", () => {
    const config = configOf({ deploy: { image: "ghcr.io/acme/app:{{sha}}" }, resources: { cpu: "500m" } });
    expect(config.deploy).toEqual({
      path: "deploy/preview",
      waitForChecks: [],
      image: "ghcr.io/acme/app:{{sha}}",
    });
    expect(config.resources).toEqual({ cpu: "500m", memory: "4Gi", pods: 20, storage: "10Gi" });
  });

  it("keeps every setting of a complete file", () => {
    const raw = {
      isolation: "vcluster",
      ttl: "1d12h",
      maxTtl: "2w",
      deploy: { path: "k8s/preview", waitForChecks: ["build-image", "lint"], image: "ghcr.io/a/b:{{ sha }}" },
      url: { service: "web", port: 8080, path: "/app/" },
      resources: { cpu: "1.5", memory: "512Mi", pods: 200, storage: "1G" },
      egress: { allow: ["203.0.113.0/24"] },
      sleep: {
        after: "2h",
        schedule: { timezone: "Europe/Berlin", days: ["mon", "fri"], from: "07:30", to: "19:00" },
      },
      warnBeforeExpiry: "12h",
      ttlRenewOnPush: true,
      forks: "never",
      podSecurity: "baseline",
      filters: { branches: ["main", "release/*"], labels: ["preview"], paths: ["src/**"], drafts: true },
    };
    expect(configOf(raw)).toEqual(raw);
  });

  it("accepts a named Service port", () => {
    expect(configOf({ url: { service: "web", port: "http-alt" } }).url).toEqual({
      service: "web",
      port: "http-alt",
      path: "/",
    });
  });

  it("accepts quantities written as YAML numbers and keeps them as text", () => {
    expect(configOf({ resources: { cpu: 2, memory: 1024, storage: 0.5 } }).resources).toMatchObject({
      cpu: "2",
      memory: "1024",
      storage: "0.5",
    });
  });

  it("allows Probot's `_extends` and leaves it out of the result", () => {
    const config = configOf({ _extends: ".github", ttl: "1d" });
    expect(config).not.toHaveProperty("_extends");
    expect(config.ttl).toBe("1d");
  });

  it("accepts a ttl equal to maxTtl even when written differently", () => {
    expect(configOf({ ttl: "168h", maxTtl: "1w" }).ttl).toBe("168h");
  });

  it("accepts upper-case duration units", () => {
    expect(configOf({ ttl: "36H" }).ttl).toBe("36H");
  });
});

describe("parseRepoConfig: bad values", () => {
  it.each<[string, unknown, string, RegExp]>([
    [
      "isolation",
      { isolation: "vclster" },
      "isolation",
      /'vclster' is not allowed; use one of 'namespace', 'vcluster'/,
    ],
    ["isolation", { isolation: 1 }, "isolation", /1 is not allowed; use one of 'namespace', 'vcluster'/],
    ["ttl", { ttl: "0h" }, "ttl", /'0h' is not a valid duration: every part must be greater than zero/],
    ["ttl", { ttl: "-1h" }, "ttl", /'-1h' is not a valid duration/],
    ["ttl", { ttl: "1.5h" }, "ttl", /'1.5h' is not a valid duration/],
    ["ttl", { ttl: "" }, "ttl", /'' is not a valid duration/],
    ["ttl", { ttl: 72 }, "ttl", /must be text, not 72/],
    ["maxTtl", { maxTtl: "1 week" }, "maxTtl", /'1 week' is not a valid duration/],
    ["maxTtl", { maxTtl: "1h1h" }, "maxTtl", /the unit 'h' appears more than once/],
    ["deploy", { deploy: "deploy/preview" }, "deploy", /must be a mapping/],
    ["deploy.path", { deploy: { path: "/deploy" } }, "deploy.path", /starts with '\/'/],
    ["deploy.path", { deploy: { path: "deploy/../../etc" } }, "deploy.path", /contains '\.\.'/],
    ["deploy.path", { deploy: { path: ".." } }, "deploy.path", /contains '\.\.'/],
    ["deploy.path", { deploy: { path: "deploy\\preview" } }, "deploy.path", /contains '\\'/],
    ["deploy.path", { deploy: { path: "" } }, "deploy.path", /at least 1 character/],
    ["deploy.path", { deploy: { path: null } }, "deploy.path", /must be text, not nothing/],
    [
      "deploy.waitForChecks",
      { deploy: { waitForChecks: "build" } },
      "deploy.waitForChecks",
      /must be a list/,
    ],
    [
      "deploy.waitForChecks",
      { deploy: { waitForChecks: ["ok", 3] } },
      "deploy.waitForChecks[1]",
      /must be text/,
    ],
    ["deploy.waitForChecks", { deploy: { waitForChecks: [""] } }, "deploy.waitForChecks[0]", /at least 1/],
    ["deploy.image", { deploy: { image: "" } }, "deploy.image", /at least 1 character/],
    ["deploy.image", { deploy: { image: ["a"] } }, "deploy.image", /must be text, not a list/],
    ["url", { url: "https://x" }, "url", /must be a mapping/],
    ["url.service", { url: { port: 80 } }, "url.service", /is required/],
    [
      "url.service",
      { url: { service: "Web", port: 80 } },
      "url.service",
      /'Web' is not a valid Service name/,
    ],
    ["url.service", { url: { service: "-web", port: 80 } }, "url.service", /not a valid Service name/],
    ["url.service", { url: { service: "a".repeat(64), port: 80 } }, "url.service", /at most 63/],
    ["url.port", { url: { service: "web" } }, "url.port", /is required/],
    ["url.port", { url: { service: "web", port: 0 } }, "url.port", /0 must be at least 1/],
    ["url.port", { url: { service: "web", port: 65536 } }, "url.port", /65536 must be at most 65535/],
    ["url.port", { url: { service: "web", port: 80.5 } }, "url.port", /must be a whole number, not 80.5/],
    ["url.port", { url: { service: "web", port: "HTTP" } }, "url.port", /'HTTP' is not a valid port name/],
    ["url.port", { url: { service: "web", port: "8080" } }, "url.port", /'8080' is not a valid port name/],
    ["url.port", { url: { service: "web", port: "my--port" } }, "url.port", /not a valid port name/],
    ["url.port", { url: { service: "web", port: "a-very-long-port-name" } }, "url.port", /at most 15/],
    ["url.port", { url: { service: "web", port: true } }, "url.port", /true is not a port/],
    [
      "url.path",
      { url: { service: "web", port: 80, path: "app" } },
      "url.path",
      /'app' does not start with '\/'/,
    ],
    ["url.path", { url: { service: "web", port: 80, path: "/a b" } }, "url.path", /must not contain spaces/],
    ["resources.cpu", { resources: { cpu: "two" } }, "resources.cpu", /'two' is not a Kubernetes quantity/],
    ["resources.cpu", { resources: { cpu: "0" } }, "resources.cpu", /'0' must be more than zero/],
    ["resources.cpu", { resources: { cpu: "0.0m" } }, "resources.cpu", /'0.0m' must be more than zero/],
    ["resources.cpu", { resources: { cpu: 0 } }, "resources.cpu", /0 must be more than 0/],
    ["resources.cpu", { resources: { cpu: -1 } }, "resources.cpu", /must be more than 0/],
    ["resources.cpu", { resources: { cpu: "1.5 cores" } }, "resources.cpu", /not a Kubernetes quantity/],
    ["resources.cpu", { resources: { cpu: true } }, "resources.cpu", /must be a Kubernetes quantity such as/],
    [
      "resources.memory",
      { resources: { memory: "4GB" } },
      "resources.memory",
      /'4GB' is not a Kubernetes quantity/,
    ],
    ["resources.memory", { resources: { memory: "512m" } }, "resources.memory", /write Mi for mebibytes/],
    ["resources.memory", { resources: { memory: "4gi" } }, "resources.memory", /not a Kubernetes quantity/],
    ["resources.pods", { resources: { pods: 0 } }, "resources.pods", /0 must be at least 1/],
    ["resources.pods", { resources: { pods: 201 } }, "resources.pods", /201 must be at most 200/],
    ["resources.pods", { resources: { pods: 2.5 } }, "resources.pods", /must be a whole number, not 2.5/],
    ["resources.pods", { resources: { pods: "20" } }, "resources.pods", /must be a number, not '20'/],
    [
      "resources.storage",
      { resources: { storage: "lots" } },
      "resources.storage",
      /not a Kubernetes quantity/,
    ],
    [
      "podSecurity",
      { podSecurity: "privileged" },
      "podSecurity",
      /'privileged' is not allowed: preview environments share/,
    ],
    [
      "podSecurity",
      { podSecurity: "strict" },
      "podSecurity",
      /'strict' is not allowed; use one of 'restricted', 'baseline'/,
    ],
    ["filters", { filters: ["main"] }, "filters", /must be a mapping/],
    ["filters.branches", { filters: { branches: "main" } }, "filters.branches", /must be a list, not 'main'/],
    ["filters.branches", { filters: { branches: [""] } }, "filters.branches[0]", /at least 1 character/],
    [
      "filters.labels",
      { filters: { labels: ["x".repeat(51)] } },
      "filters.labels[0]",
      /at most 50 characters/,
    ],
    ["filters.labels", { filters: { labels: [1] } }, "filters.labels[0]", /must be text, not 1/],
    ["filters.paths", { filters: { paths: Array(101).fill("a") } }, "filters.paths", /at most 100 items/],
    ["filters.drafts", { filters: { drafts: "yes" } }, "filters.drafts", /must be true or false, not 'yes'/],
    ["_extends", { _extends: 1 }, "_extends", /must be text, not 1/],
  ])("reports a bad %s: %j", (_field, raw, path, message) => {
    const problems = problemsOf(raw);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe(path);
    expect(problems[0]!.message).toMatch(message);
  });

  it.each<[string, unknown]>([
    ["isolation", { isolation: 5 }],
    ["ttl", { ttl: "x" }],
    ["maxTtl", { maxTtl: "x" }],
    ["deploy.path", { deploy: { path: 5 } }],
    ["deploy.waitForChecks", { deploy: { waitForChecks: 5 } }],
    ["deploy.image", { deploy: { image: 5 } }],
    ["url.service", { url: { service: 5, port: 80 } }],
    ["url.port", { url: { service: "web", port: false } }],
    ["url.path", { url: { service: "web", port: 80, path: 5 } }],
    ["resources.cpu", { resources: { cpu: false } }],
    ["resources.memory", { resources: { memory: false } }],
    ["resources.pods", { resources: { pods: false } }],
    ["resources.storage", { resources: { storage: false } }],
    ["podSecurity", { podSecurity: 5 }],
    ["filters.branches", { filters: { branches: 5 } }],
    ["filters.labels", { filters: { labels: 5 } }],
    ["filters.paths", { filters: { paths: 5 } }],
    ["filters.drafts", { filters: { drafts: 5 } }],
    ["_extends", { _extends: 5 }],
  ])("tells how to fix a bad %s in words specific to that field", (path, raw) => {
    const [problem] = problemsOf(raw);
    expect(problem!.path).toBe(path);
    expect(problem!.fix).not.toMatch(/configuration reference/);
    expect(problem!.fix.length).toBeGreaterThan(10);
  });

  it("explains the duration format in the fix for a bad ttl", () => {
    expect(problemsOf({ ttl: "soon" })[0]!.fix).toMatch(
      /m \(minutes\), h \(hours\), d \(days\) or w \(weeks\)/,
    );
  });
});

describe("parseRepoConfig: ttl and maxTtl", () => {
  it("rejects a ttl longer than maxTtl and says which to change", () => {
    expect(problemsOf({ ttl: "8d", maxTtl: "1w" })).toEqual([
      {
        path: "ttl",
        message: "ttl (8d) is longer than maxTtl (1w)",
        fix: "Lower ttl to 1w or less, or raise maxTtl to at least 8d.",
      },
    ]);
  });

  it("compares a ttl against the default maxTtl", () => {
    expect(problemsOf({ ttl: "8d" })[0]!.message).toBe("ttl (8d) is longer than maxTtl (7d)");
  });

  it("compares the default ttl against a short maxTtl", () => {
    expect(problemsOf({ maxTtl: "1h" })[0]!.message).toBe("ttl (72h) is longer than maxTtl (1h)");
  });

  it("does not compare when one of them is itself invalid", () => {
    expect(problemsOf({ ttl: "8d", maxTtl: "soon" }).map((p) => p.path)).toEqual(["maxTtl"]);
  });
});

describe("parseRepoConfig: unknown keys", () => {
  it("suggests the closest known key for a typo", () => {
    expect(problemsOf({ tll: "3d" })).toEqual([
      { path: "tll", message: "unknown key 'tll' — did you mean 'ttl'?", fix: "Rename it to 'ttl'." },
    ]);
  });

  it.each([
    ["isolaton", "isolation"],
    ["maxttl", "maxTtl"],
    ["max_ttl", "maxTtl"],
    ["TTL", "ttl"],
    ["resource", "resources"],
    ["podsecurity", "podSecurity"],
    ["filter", "filters"],
  ])("suggests the key for %s at the top level", (typo, key) => {
    expect(problemsOf({ [typo]: 1 })[0]!.message).toBe(`unknown key '${typo}' — did you mean '${key}'?`);
  });

  it("suggests keys of the section the unknown key is in", () => {
    expect(problemsOf({ deploy: { waitForCheck: [] } })[0]).toEqual({
      path: "deploy.waitForCheck",
      message: "unknown key 'waitForCheck' — did you mean 'waitForChecks'?",
      fix: "Rename it to 'waitForChecks'.",
    });
    expect(problemsOf({ filters: { branch: ["main"] } })[0]!.message).toContain("did you mean 'branches'?");
    expect(problemsOf({ url: { service: "web", port: 80, prot: 1 } })[0]!.message).toContain(
      "did you mean 'port'?",
    );
  });

  it("lists the allowed keys when nothing is close", () => {
    expect(problemsOf({ resources: { replicas: 1 } })[0]).toEqual({
      path: "resources.replicas",
      message: "unknown key 'replicas'",
      fix: "Remove it; the keys allowed here are cpu, memory, pods, storage.",
    });
  });

  it("never suggests _extends", () => {
    expect(problemsOf({ extends: "x" })[0]!.message).toBe("unknown key 'extends'");
  });

  it("treats __proto__ and constructor as unknown keys without being fooled by them", () => {
    const raw: unknown = JSON.parse(
      '{"__proto__": {"ttl": "1m"}, "constructor": {}, "deploy": {"__proto__": 1}}',
    );
    expect(
      problemsOf(raw)
        .map((p) => p.path)
        .sort(),
    ).toEqual(["__proto__", "constructor", "deploy.__proto__"]);
  });
});

describe("parseRepoConfig: many problems at once", () => {
  it("lists every problem, not just the first", () => {
    const problems = problemsOf({
      tll: "3d",
      isolation: "vm",
      ttl: "8d",
      podSecurity: "privileged",
      deploy: { path: "/abs", waitForChecks: "build" },
      url: { service: "Web", port: 70000 },
      resources: { cpu: "lots", memory: "512m", pods: 1.5 },
      filters: { drafts: "no", extra: 1 },
    });
    expect(problems.map((p) => p.path).sort()).toEqual(
      [
        "tll",
        "isolation",
        "ttl",
        "podSecurity",
        "deploy.path",
        "deploy.waitForChecks",
        "url.service",
        "url.port",
        "resources.cpu",
        "resources.memory",
        "resources.pods",
        "filters.drafts",
        "filters.extra",
      ].sort(),
    );
  });
});

describe("parseRepoConfig: not a mapping", () => {
  it.each<[string, unknown, RegExp]>([
    ["a list", ["isolation: namespace"], /contains a list/],
    ["a string", "isolation=namespace", /contains 'isolation=namespace'/],
    ["a number", 42, /contains 42/],
    ["a boolean", true, /contains true/],
  ])("reports one root problem for %s", (_kind, raw, message) => {
    const problems = problemsOf(raw);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe("(root)");
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.fix).toMatch(/isolation: namespace/);
  });

  it("reads an empty file (null) as every default: an empty .github/prenv.yml opts in", () => {
    expect(parseRepoConfig(null)).toEqual(parseRepoConfig({}));
    expect(parseRepoConfig(undefined)).toEqual(parseRepoConfig({}));
  });

  it("names the file it was given", () => {
    const result = parseRepoConfig([], "acme/.github:prenv.yml");
    expect(!result.ok && result.problems[0]!.message).toMatch(/^acme\/\.github:prenv\.yml must contain/);
  });
});

describe("parseRepoConfig: echoed values", () => {
  it("cuts long values to 60 characters", () => {
    const long = "v".repeat(10_000);
    for (const raw of [
      { isolation: long },
      { ttl: long },
      { [long]: 1 },
      { url: { service: long, port: 1 } },
    ]) {
      for (const problem of problemsOf(raw)) {
        expect(problem.message).not.toContain("v".repeat(61));
        expect(problem.path).not.toContain("v".repeat(61));
      }
    }
  });

  it("does not carry newlines or @mentions from values into messages", () => {
    const [problem] = problemsOf({ isolation: "@octocat\nsecond line" });
    expect(problem!.message).not.toContain("\n");
    expect(problem!.message).not.toMatch(/@octocat/);
  });
});

describe("formatProblems", () => {
  const problems: ConfigProblem[] = [
    { path: "ttl", message: "'0h' is not a valid duration", fix: "Use 30m." },
    { path: "tll", message: "unknown key 'tll' — did you mean 'ttl'?", fix: "Rename it to 'ttl'." },
  ];

  it("names the file first, then lists each problem with its path, message and fix", () => {
    expect(formatProblems(".github/prenv.yml", problems)).toBe(
      [
        "`.github/prenv.yml` has 2 problems:",
        "",
        "- `ttl`: '0h' is not a valid duration. Use 30m.",
        "- `tll`: unknown key 'tll' — did you mean 'ttl'? Rename it to 'ttl'.",
      ].join("\n"),
    );
  });

  it("says 1 problem for one", () => {
    expect(formatProblems("f.yml", problems.slice(0, 1))).toMatch(/^`f\.yml` has 1 problem:/);
  });

  it("keeps a PR comment short when there are very many problems", () => {
    const many = problemsOf(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`junk${i}`, i])));
    expect(many).toHaveLength(500);
    const text = formatProblems(CONFIG_FILE, many);
    expect(text.split("\n").filter((line) => line.startsWith("- `"))).toHaveLength(30);
    expect(text).toMatch(/…and 470 more\.$/);
  });

  it("cannot be broken out of its code spans by a path with backticks", () => {
    const text = formatProblems("a`b.yml", [{ path: "x`y", message: "bad", fix: "Fix." }]);
    expect(text).toContain("`a'b.yml`");
    expect(text).toContain("- `x'y`: bad. Fix.");
  });
});

describe("parseRepoConfig: settings written at the top level that belong in a section", () => {
  it.each([
    ["branches", ["main"], "filters.branches"],
    ["sleepAfter", "2h", "sleep.after"],
    ["path", "deploy/x", "deploy.path"],
    ["cpu", "1", "resources.cpu"],
    ["service", "web", "url.service"],
  ])("%s points to %s", (key, value, home) => {
    const [problem] = problemsOf({ [key]: value });
    expect(problem!.message).toBe(`unknown key '${key}' at the top level — did you mean '${home}'?`);
    expect(problem!.fix).toContain(`Move it under ${home.split(".")[0]}`);
  });
});

describe("parseRepoConfig: egress", () => {
  it.each([
    [{ allow: "none" }, "none"],
    [{ allow: ["203.0.113.0/24", "2001:db8::/32"] }, ["203.0.113.0/24", "2001:db8::/32"]],
  ])("accepts %j", (egress, allow) => {
    expect(configOf({ egress }).egress.allow).toEqual(allow);
  });

  it.each([
    [{ allow: "everything" }, /must be internet, none or a list of CIDRs/],
    [{ allow: ["10.0.0.0"] }, /is not a CIDR/],
    [{ allow: [] }, /at least 1 item/],
  ])("refuses %j", (egress, message) => {
    expect(problemsOf({ egress })[0]!.message).toMatch(message);
  });
});
