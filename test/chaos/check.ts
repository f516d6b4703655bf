// What a converged prenv looks like after the chaos run, checked against GitHub's final state (the
// stand-in) and the cluster's (the real API server, read as admin):
// - an environment exists exactly for each open, opted-in pull request (by repository id and
//   number) that its comment does not say was destroyed at its head commit;
// - exactly one prenv comment per pull request that has one, and its last state matches the
//   environment (ready at the head commit, asleep when the namespace is, the same expiry; deleted,
//   destroyed or not deployed otherwise), with the check run and the Deployment agreeing and
//   nothing left in progress;
// - no namespace of a closed pull request, none that maps to no pull request;
// - in each environment, exactly the objects of the head commit's manifests (nothing applied for a
//   manifest since removed).
import { AppsV1Api, CoreV1Api, NetworkingV1Api, type KubeConfig } from "@kubernetes/client-node";
import { KubernetesCluster } from "../../src/adapters/kubernetes/cluster.js";
import { namespaceName } from "../../src/environment/naming.js";
import { appliedLabels, readRecord, type EnvironmentView } from "../../src/environment/record.js";
import { COMMENT_MARKER, readMeta } from "../../src/report/comment.js";
import { isoSeconds } from "../../src/report/time.js";
import { expectedObjects, LABEL, OWNER, type Pr, type World } from "./world.js";

const BOT_LOGIN = "prenv[bot]";

interface CommentView {
  kind: string;
  state: string;
  sha: string | null;
  expires: string | null;
  destroyedSha: string | undefined;
}

function readComment(body: string): CommentView {
  const kind = /### .*Preview environment: (.+)$/m.exec(body)?.[1]?.trim() ?? "?";
  return {
    kind,
    state: /^\| State \| (.*) \|$/m.exec(body)?.[1] ?? "",
    sha: /^\| Commit \| `([0-9a-f]{7})` \|$/m.exec(body)?.[1] ?? null,
    expires: /^\| Expires \| (\S+) \|$/m.exec(body)?.[1] ?? null,
    destroyedSha: readMeta(body).destroyedSha,
  };
}

/** A comment's visible text on one line (hidden state left out), for a problem's line. */
function plainText(body: string): string {
  return body
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("<!--"))
    .join(" / ")
    .slice(0, 400);
}

export interface CheckResult {
  problems: string[];
  environments: number;
  openOptedIn: number;
}

export async function checkConvergence(
  world: World,
  admin: KubeConfig,
  prefix: string,
): Promise<CheckResult> {
  const problems: string[] = [];
  const cluster = new KubernetesCluster(admin);
  const envs = (await cluster.listEnvironments()).map(readRecord);
  const byName = new Map(envs.map((e) => [e.name, e]));
  const known = new Set<string>();
  let openOptedIn = 0;
  for (const pr of world.prs) {
    const ns = namespaceName({ owner: OWNER, repo: pr.repo.name, pr: pr.number }, prefix);
    known.add(ns);
    const env = byName.get(ns) ?? null;
    const where = `${OWNER}/${pr.repo.name}#${pr.number}`;
    const fail = (what: string) => problems.push(`${where}: ${what}`);
    if (env && (env.owner?.repoId !== pr.repo.id || env.owner.pr !== pr.number)) {
      fail(`namespace ${ns} records ${JSON.stringify(env.owner)}`);
    }
    if (env?.terminating) fail(`namespace ${ns} is still terminating`);
    const obj = pr.model.pr;
    const ours = pr.comments.comments.filter(
      (c) => c.user.login === BOT_LOGIN && c.body.startsWith(COMMENT_MARKER),
    );
    if (ours.length > 1) fail(`${ours.length} prenv comments`);
    const comment = ours[0] ? readComment(ours[0].body) : null;
    const optedIn =
      pr.repo.kind === "all" || (pr.repo.kind === "labelled" && obj.labels.some((l) => l.name === LABEL));
    const open = obj.state === "open" && obj.head.sha !== "";
    const destroyed = comment?.destroyedSha === obj.head.sha;
    if (open && optedIn) openOptedIn++;
    const wanted = open && optedIn && !destroyed;
    if (wanted && !env) {
      const said = ours[0] ? plainText(ours[0].body) : "no comment";
      fail(`open and opted in, but no environment (comment: ${comment?.state ?? "none"}: ${said})`);
    }
    if (!wanted && env) {
      fail(
        `environment ${ns} exists, but the PR is ${open ? (optedIn ? "destroyed" : "not opted in") : "closed"}`,
      );
    }
    if (env && wanted) await checkLive(pr, env, comment, admin, fail);
    else checkGone(pr, { open, optedIn, destroyed }, comment, fail);
    checkGitHub(pr, Boolean(env && wanted), fail);
  }
  for (const e of envs) {
    if (!known.has(e.name)) problems.push(`namespace ${e.name} belongs to no pull request of the run`);
  }
  return { problems, environments: envs.length, openOptedIn };
}

async function checkLive(
  pr: Pr,
  env: EnvironmentView,
  comment: CommentView | null,
  admin: KubeConfig,
  fail: (what: string) => void,
): Promise<void> {
  const head = pr.model.pr.head.sha;
  if (!comment) return fail("environment without a prenv comment");
  if (comment.kind !== "ready") fail(`comment says "${comment.state}" for a live environment`);
  if (comment.sha !== head.slice(0, 7))
    fail(`comment shows commit ${comment.sha}, head is ${head.slice(0, 7)}`);
  if (env.state?.deployedSha !== head)
    fail(`namespace deployed ${env.state?.deployedSha ?? "nothing"}, head is ${head}`);
  if (env.state?.phase !== "ready") fail(`namespace state ${env.state?.phase ?? "none"}`);
  const asleep = comment.state.includes("asleep");
  if (asleep !== env.sleep.sleeping)
    fail(`comment ${asleep ? "says" : "does not say"} asleep; namespace sleeping=${env.sleep.sleeping}`);
  const expires = env.expiresAt ? isoSeconds(env.expiresAt) : null;
  if (comment.expires !== expires) fail(`comment says expires ${comment.expires}, namespace ${expires}`);
  const actual = await appliedObjects(admin, env.name);
  const expected = expectedObjects(pr.commits.get(head) ?? []);
  if (actual.join(",") !== expected.join(","))
    fail(`objects ${actual.join(", ")}; head's manifests: ${expected.join(", ")}`);
}

function checkGone(
  pr: Pr,
  s: { open: boolean; optedIn: boolean; destroyed: boolean },
  comment: CommentView | null,
  fail: (what: string) => void,
): void {
  if (!comment) return;
  // Not opted in wins over `/env destroy`: a PR destroyed and then unlabelled (or destroyed while
  // unlabelled) is told why it has no preview by whichever of the two ran last (seed 7).
  const allowed = !s.open
    ? ["deleted"]
    : !s.optedIn
      ? ["deleted", "not deployed", "destroyed"]
      : s.destroyed
        ? ["destroyed"]
        : [];
  if (!allowed.includes(comment.kind))
    fail(`comment says "${comment.state}" (${comment.kind}); no environment`);
  void pr;
}

/** The check run on the head commit and the PR's Deployments agree; nothing stays in progress. */
function checkGitHub(pr: Pr, live: boolean, fail: (what: string) => void): void {
  const head = pr.model.pr.head.sha;
  const runs = pr.repo.checks.checkRuns.filter((c) => pr.commits.has(c.head_sha));
  for (const c of runs)
    if (c.status !== "completed") fail(`check run on ${c.head_sha.slice(0, 7)} is ${c.status}`);
  const deployments = pr.repo.deployments.deployments.filter((d) => d.environment === `pr-${pr.number}`);
  for (const d of deployments) {
    const state = pr.repo.deployments.latestStatus(d.id)?.state;
    if (state === "in_progress" || state === "queued" || state === "pending") {
      fail(`deployment of ${d.sha.slice(0, 7)} is ${state}`);
    }
    if (!live && state !== undefined && state !== "inactive" && state !== "failure" && state !== "error") {
      fail(`deployment of ${d.sha.slice(0, 7)} is ${state} with no environment`);
    }
  }
  if (live) {
    const run = runs.filter((c) => c.head_sha === head).at(-1);
    if (run?.conclusion !== "success") fail(`check run on the head is ${run?.conclusion ?? "missing"}`);
    const d = deployments.filter((x) => x.sha === head).at(-1);
    const state = d ? pr.repo.deployments.latestStatus(d.id)?.state : undefined;
    if (state !== "success") fail(`deployment of the head is ${state ?? "missing"}`);
  }
}

async function appliedObjects(admin: KubeConfig, namespace: string): Promise<string[]> {
  const labelSelector = Object.entries(appliedLabels())
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const core = admin.makeApiClient(CoreV1Api);
  const apps = admin.makeApiClient(AppsV1Api);
  const net = admin.makeApiClient(NetworkingV1Api);
  const q = { namespace, labelSelector };
  const names = (kind: string, items: { metadata?: { name?: string } }[]) =>
    items.map((i) => `${kind}/${i.metadata?.name}`);
  return [
    ...names("ConfigMap", (await core.listNamespacedConfigMap(q)).items),
    ...names("Service", (await core.listNamespacedService(q)).items),
    ...names("Secret", (await core.listNamespacedSecret(q)).items),
    ...names("Deployment", (await apps.listNamespacedDeployment(q)).items),
    ...names("StatefulSet", (await apps.listNamespacedStatefulSet(q)).items),
    ...names("Ingress", (await net.listNamespacedIngress(q)).items),
  ].sort();
}
