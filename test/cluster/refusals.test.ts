// Manifests the API server refuses, end to end on the real API server: what the PR is told, what
// stays in the cluster, and that nothing is left in progress.
import { CoreV1Api } from "@kubernetes/client-node";
import { afterEach, describe, expect } from "vitest";
import { COMMENT_MARKER } from "../../src/report/comment.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually } from "./harness/k8s-helpers.js";
import { cleanupRigs, configMaps, namespaceExists, push, setup, SHA1, SHA2, web } from "./harness/pr-rig.js";

afterEach(cleanupRigs);

/** Server-side apply answers these with 500 "failed to create typed patch object". */
const UNTYPABLE: [string, string, RegExp][] = [
  [
    "a ConfigMap value that is not a string",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { enabled: true }\n",
    /ConfigMap\/settings: \.data\.enabled: expected string, got true \(the object does not fit its kind's schema\)/,
  ],
  [
    "an unknown field under metadata",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, colour: blue }\ndata: { a: b }\n",
    /ConfigMap\/settings: \.metadata\.colour: field not declared in schema/,
  ],
];

function unfinished(s: Awaited<ReturnType<typeof setup>>): string[] {
  return [
    ...s.checks.checkRuns.filter((c) => c.status !== "completed").map((c) => `check run on ${c.head_sha}`),
    ...s.deployments.deployments
      .filter((d) =>
        ["in_progress", "queued", "pending"].includes(s.deployments.latestStatus(d.id)?.state ?? ""),
      )
      .map((d) => `deployment of ${d.sha}`),
  ];
}

describe("an object the API server cannot type (stuck 'deploying')", () => {
  test.for(UNTYPABLE)(
    "%s is a manifest error on the PR at once, not a job retried five times; nothing stays in progress",
    async ([, manifest, message], { bot, admin }) => {
      const s = await setup(bot, admin);
      await s.rig.deliver("pull_request", s.opened);
      await s.rig.settle();
      // The push brings the untypable object; the rig fails the test on any job failure (no retry).
      await s.rig.deliver(
        "pull_request",
        push(s, SHA2, { "deploy/preview/web.yaml": web(), "deploy/preview/settings.yaml": manifest }),
      );
      await s.rig.settle();
      const body = s.comments.comments.find((c) => c.body.startsWith(COMMENT_MARKER))!.body;
      expect(body).toContain("manifests refused");
      expect(body.replace(/\\/g, "")).toMatch(message);
      expect(body).toContain("the environment still runs the previous deployment");
      const run = s.checks.checkRuns.filter((c) => c.head_sha === SHA2).at(-1);
      expect(run).toMatchObject({ status: "completed", conclusion: "failure" });
      expect(unfinished(s)).toEqual([]);
      // The previous deployment is untouched.
      expect(await configMaps(admin, s.ns)).toEqual(["extra"]);
    },
  );
});

describe("a first deploy the cluster refuses", () => {
  test("leaves no namespace behind, and says that nothing was created", async ({ bot, admin }) => {
    const s = await setup(bot, admin, {
      files: { "deploy/preview/web.yaml": web(), "deploy/preview/settings.yaml": UNTYPABLE[0]![1] },
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    const body = s.comments.comments.find((c) => c.body.startsWith(COMMENT_MARKER))!.body;
    expect(body).toContain("manifests refused");
    expect(body).toContain("Nothing was created");
    // Gone, not only deleting: a push while it terminates is retried until it is (gates.ts).
    await eventually(`${s.ns} removed`, 90_000, async () =>
      admin
        .makeApiClient(CoreV1Api)
        .readNamespace({ name: s.ns })
        .then(
          () => false,
          () => true,
        ),
    );
    expect(unfinished(s)).toEqual([]);
    expect(s.checks.checkRuns.filter((c) => c.head_sha === SHA1).at(-1)).toMatchObject({
      conclusion: "failure",
    });
    // A fix deploys it (once the refused namespace is gone).
    await s.rig.deliver("pull_request", push(s, SHA2, { "deploy/preview/web.yaml": web() }));
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(true);
    expect(s.comments.comments.find((c) => c.body.startsWith(COMMENT_MARKER))!.body).toContain("ready");
  }, 150_000);
});
