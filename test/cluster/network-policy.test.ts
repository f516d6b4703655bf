// The default-deny NetworkPolicy of templates/namespace.yaml.hbs, enforced on the test node
// (kube-router's policy controller): two PRs deployed by the real app, a namespace of the
// platform's own (where the bot or other services would run) and a namespace without any policy
// whose pod proves that every target answers when nothing blocks it. Each probe is one fresh
// connection from inside a pod; "status 200" means the target answered, "error" that the
// connection was refused or timed out.
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { loadKubeConfig } from "../../src/adapters/kubernetes/kubeconfig.js";
import { ADMIN_CONTEXT, BOT_CONTEXT } from "./harness/controlplane.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually, waitForDefaultServiceAccount } from "./harness/k8s-helpers.js";
import { METADATA_ADDRESS } from "./harness/node.js";
import { SHA1, SHA2, cleanupRigs, setup, type Setup } from "./harness/pr-rig.js";
import { app, fetchFrom, isReady, podsOf } from "./harness/workloads.js";
import { applyObjects } from "./harness/apply.js";
import { parseAllDocuments } from "yaml";

interface World {
  admin: KubeConfig;
  a: Setup;
  b: Setup;
  /** A pod in each namespace that serves "web" (the PRs', the platform's, the unguarded one). */
  pod: { a: string; b: string; platform: string; open: string };
  platform: string;
  open: string;
}

let world: World | undefined;
const extraNamespaces: string[] = [];

async function plainNamespace(
  admin: KubeConfig,
  prefix: string,
  image: string,
  name: string,
): Promise<string> {
  const ns = `t-${prefix}-${randomBytes(3).toString("hex")}`;
  extraNamespaces.push(ns);
  await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  await waitForDefaultServiceAccount(admin, ns);
  const objects = parseAllDocuments(
    app({ image, env: { NAME: name } }).replace(/\{\{sha\}\}|\{\{pr\}\}/g, name),
  )
    .map((d) => d.toJS() as { metadata: Record<string, unknown> })
    .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns } }));
  await applyObjects(admin, objects);
  return ns;
}

async function readyPod(admin: KubeConfig, ns: string): Promise<string> {
  let name = "";
  await eventually(`a Ready web pod in ${ns}`, 60_000, async () => {
    name = (await podsOf(admin, ns, "web")).find(isReady)?.metadata?.name ?? "";
    return name !== "";
  });
  return name;
}

beforeAll(async () => {
  const node = inject("node");
  if (!node) return;
  const admin = loadKubeConfig(inject("kubeconfig"), ADMIN_CONTEXT);
  const bot = loadKubeConfig(inject("kubeconfig"), BOT_CONTEXT);
  const files = (image: string) => ({ "deploy/preview/web.yaml": app({ image }) });
  const a = await setup(bot, admin, { files: files(node.images.web!), rolloutSeconds: 60 });
  const b = await setup(bot, admin, { files: files(node.images.web!), rolloutSeconds: 60 });
  (b.opened.pull_request as { head: { sha: string } }).head.sha = SHA2;
  (b.pr.pr as { head: { sha: string } }).head.sha = SHA2;
  b.standIn.contents(b.owner, b.repo, files(node.images.web!), SHA2);
  for (const s of [a, b]) {
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
  }
  const platform = await plainNamespace(admin, "platform", node.images.web!, "platform-service");
  const open = await plainNamespace(admin, "open", node.images.web!, "unguarded");
  world = {
    admin,
    a,
    b,
    platform,
    open,
    pod: {
      a: await readyPod(admin, a.ns),
      b: await readyPod(admin, b.ns),
      platform: await readyPod(admin, platform),
      open: await readyPod(admin, open),
    },
  };
}, 180_000);

afterAll(async () => {
  await cleanupRigs();
  if (!world) return;
  const core = world.admin.makeApiClient(CoreV1Api);
  for (const name of extraNamespaces) await core.deleteNamespace({ name }).catch(() => undefined);
});

/** From a pod in `from`, one GET of `url`. */
const probe = (w: World, from: keyof World["pod"], url: string) => {
  const ns = { a: w.a.ns, b: w.b.ns, platform: w.platform, open: w.open }[from];
  return fetchFrom(w.admin, ns, w.pod[from], url);
};
const svc = (ns: string) => `http://web.${ns}.svc.cluster.local:8080/`;
const answered = /^status 200\n/;
const refused = /^error /;

describe("the default-deny network policy on a real node", () => {
  test("allows traffic within the PR's namespace, and cluster DNS", async ({ node }) => {
    const w = world!;
    expect(node.name).toBeTruthy();
    expect(await probe(w, "a", "http://web:8080/")).toMatch(
      new RegExp(`^status 200\\n.*"commit":"${SHA1}"`, "s"),
    );
    expect(await probe(w, "b", "http://web:8080/")).toMatch(
      new RegExp(`^status 200\\n.*"commit":"${SHA2}"`, "s"),
    );
    const bService = await w.admin
      .makeApiClient(CoreV1Api)
      .readNamespacedService({ name: "web", namespace: w.b.ns });
    const lookup = await import("./harness/workloads.js").then(({ execIn }) =>
      execIn(w.admin, w.a.ns, w.pod.a, ["/testapp", "lookup", `web.${w.b.ns}.svc.cluster.local`]),
    );
    expect(lookup.stdout.trim()).toBe(bService.spec?.clusterIP);
  });

  test("keeps PR A from PR B's Service, while B's own pods reach it", async ({ node }) => {
    const w = world!;
    expect(node.name).toBeTruthy();
    expect(await probe(w, "b", svc(w.b.ns))).toMatch(answered);
    expect(await probe(w, "a", svc(w.b.ns))).toMatch(refused);
    expect(await probe(w, "b", svc(w.a.ns))).toMatch(refused);
    // Nor from a namespace without any policy: B accepts only its own namespace and the ingress controller.
    expect(await probe(w, "open", svc(w.b.ns))).toMatch(refused);
  });

  test("keeps a PR's pods from the instance metadata address, which answers pods without the policy", async ({
    node,
  }) => {
    const w = world!;
    expect(node.name).toBeTruthy();
    const metadata = `http://${METADATA_ADDRESS}/`;
    expect(await probe(w, "open", metadata)).toMatch(/^status 200\n.*"name":"instance-metadata"/s);
    expect(await probe(w, "a", metadata)).toMatch(refused);
    expect(await probe(w, "b", metadata)).toMatch(refused);
  });

  // Egress reaches DNS, the PR's own namespace and the internet outside the operator's private
  // ranges: a namespace without a policy of its own (the platform's) is out of reach too.
  test("keeps a PR's pods from the platform's own namespace", async ({ node }) => {
    const w = world!;
    expect(node.name).toBeTruthy();
    expect(await probe(w, "open", svc(w.platform))).toMatch(answered);
    expect(await probe(w, "a", svc(w.platform))).toMatch(refused);
  });
});
