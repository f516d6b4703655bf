// A namespace is acted on only when it records the requesting repository's id and PR number. The
// names prenv derives can collide (the 24-bit hash of earlier versions was searched in under a
// second) or be reused; these tests put another repository's environment under the names a pull
// request maps to, and check that nothing the pull request can trigger changes, deletes or hands
// out access to it.
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect } from "vitest";
import { legacyNamespaceName, namespaceName } from "../../src/environment/naming.js";
import { pullRequestPayload } from "../support/payloads.js";
import { accessRoutes, startEndpoint } from "./harness/endpoint.js";
import { clusterTest as test } from "./harness/fixtures.js";
import {
  SHA1,
  cleanupRigs,
  command,
  commandRoutes,
  deleteAfterTest,
  namespaceExists,
  setup,
} from "./harness/pr-rig.js";

afterEach(cleanupRigs);

const VICTIM_REPO_ID = "424242";
const FUTURE = new Date(Date.now() + 48 * 3600_000).toISOString();

/** Another repository's environment (PR 7 of acme/victim), planted by the admin under `name`. */
async function plantVictim(admin: KubeConfig, name: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          "app.kubernetes.io/managed-by": "prenv",
          "prenv.dev/pr": "7",
          "prenv.dev/repo-id": VICTIM_REPO_ID,
          "prenv.dev/queued": "false",
        },
        annotations: {
          "prenv.dev/repository": "acme/victim",
          "prenv.dev/pr": "7",
          "prenv.dev/installation": "1",
          "prenv.dev/expires-at": FUTURE,
          "prenv.dev/state": "ready",
        },
      },
    },
  });
  await core.createNamespacedConfigMap({
    namespace: name,
    body: { metadata: { name: "victims-data" }, data: { secret: "keep me" } },
  });
}

async function snapshot(admin: KubeConfig, name: string) {
  const core = admin.makeApiClient(CoreV1Api);
  const ns = await core.readNamespace({ name });
  const quotas = await core.listNamespacedResourceQuota({ namespace: name });
  const maps = await core.listNamespacedConfigMap({ namespace: name });
  return {
    terminating: Boolean(ns.metadata?.deletionTimestamp),
    labels: ns.metadata?.labels,
    annotations: ns.metadata?.annotations,
    quotas: quotas.items.map((q) => q.metadata?.name),
    configMaps: maps.items.map((m) => m.metadata?.name).filter((n) => n !== "kube-root-ca.crt"),
  };
}

describe("namespace ownership", () => {
  test("another repository's environment under this PR's names is never changed, deleted or handed out", async ({
    bot,
    admin,
    access,
  }) => {
    const s = await setup(bot, admin, { perms: { wes: "write" } });
    commandRoutes(s);
    const users = accessRoutes(s);
    const ref = { owner: s.owner, repo: s.repo, pr: s.number };
    const names = [namespaceName(ref), legacyNamespaceName(ref)];
    expect(names[0]).toBe(s.ns);
    for (const name of names) {
      deleteAfterTest(admin, name);
      await plantVictim(admin, name);
    }
    const before = await Promise.all(names.map((n) => snapshot(admin, n)));

    // Opened: nothing is applied there; the PR is told why, in words that name no other repository.
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await Promise.all(names.map((n) => snapshot(admin, n)))).toEqual(before);
    const comment = s.comments.comments.find((c) => c.user.login === "prenv[bot]")!;
    expect(comment.body).toContain("belongs to another repository's environment");
    expect(comment.body).not.toContain("victim");
    expect(s.rig.logs.join("\n")).toContain("namespace records another repository or pull request");

    // Commands act on no environment.
    await command(s, "wes", "/env extend 1h\n/env sleep");
    expect(await Promise.all(names.map((n) => snapshot(admin, n)))).toEqual(before);

    // No kubeconfig for it, to an admin of the requesting repository.
    const endpoint = await startEndpoint(s, access, s.settings, users.oauth);
    try {
      const res = await endpoint.get(`/api/kubeconfig/${s.owner}/${s.repo}/${s.number}`, users.tokens.alice);
      expect(res.status).toBe(404);
      expect(res.body).not.toContain("token:");
    } finally {
      await endpoint.close();
    }

    // Closed: nothing is deleted.
    (s.pr.pr as { state: string }).state = "closed";
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("closed", { owner: s.owner, repo: s.repo, number: 7, sha: SHA1, state: "closed" }),
    );
    await s.rig.settle();
    for (const name of names) expect(await namespaceExists(admin, name)).toBe(true);
    expect(await Promise.all(names.map((n) => snapshot(admin, n)))).toEqual(before);
  });

  test("an environment made under the legacy (24-bit) name keeps working: found, updated and deleted there", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin);
    const legacy = legacyNamespaceName({ owner: s.owner, repo: s.repo, pr: s.number });
    deleteAfterTest(admin, legacy);
    // As an earlier prenv left it: its own repository id and PR recorded on it.
    const repoId = String((s.opened.repository as { id: number }).id);
    await admin.makeApiClient(CoreV1Api).createNamespace({
      body: {
        metadata: {
          name: legacy,
          labels: {
            "app.kubernetes.io/managed-by": "prenv",
            "prenv.dev/pr": "7",
            "prenv.dev/repo-id": repoId,
          },
          annotations: {
            "prenv.dev/repository": `${s.owner}/${s.repo}`,
            "prenv.dev/pr": "7",
            "prenv.dev/installation": "1",
            "prenv.dev/created-at": new Date().toISOString(),
            "prenv.dev/expires-at": FUTURE,
          },
        },
      },
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    const deployed = await snapshot(admin, legacy);
    expect(deployed.annotations?.["prenv.dev/deployed-sha"]).toBe(SHA1);
    expect(deployed.quotas).toEqual(["prenv"]);
    expect(deployed.configMaps).toContain("extra");

    (s.pr.pr as { state: string }).state = "closed";
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("closed", { owner: s.owner, repo: s.repo, number: 7, sha: SHA1, state: "closed" }),
    );
    await s.rig.settle();
    expect(await namespaceExists(admin, legacy)).toBe(false);
  });
});
