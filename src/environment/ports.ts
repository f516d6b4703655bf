// The small interfaces the environment use cases talk through. Adapters in src/adapters
// implement them with Octokit and client-node; tests implement none of them by hand: they run
// the real adapters against a GitHub stand-in and a real Kubernetes API server.
import type { ConfigProblem } from "../config/parse.js";
import type { RepoConfig } from "../config/schema.js";
import type { RepoFiles } from "../manifests/files.js";
import type { KubeObject, ObjectRef } from "../manifests/objects.js";

/** Which pull request a job is about. */
export interface PrRef {
  owner: string;
  repo: string;
  number: number;
  installationId: number;
  /**
   * The repository's id as the event that asked for this job reported it. A hint: the id GitHub
   * reports for the pull request when it is read fresh takes precedence.
   */
  repoId?: number;
}

export interface PullRequest {
  number: number;
  state: "open" | "closed";
  merged: boolean;
  draft: boolean;
  headSha: string;
  headRef: string;
  baseRef: string;
  /** owner/repo of the head branch; differs from the base repository for forks; null if deleted. */
  headRepoFullName: string | null;
  labels: string[];
  author: string;
  repoId: number;
  htmlUrl: string;
}

export type ConfigLookup =
  { kind: "missing" } | { kind: "invalid"; problems: ConfigProblem[] } | { kind: "ok"; config: RepoConfig };

export type CheckState = "success" | "pending" | "failure" | "missing";

export interface CheckRunView {
  id: number;
  status: "queued" | "in_progress" | "completed";
  conclusion: string | null;
  title: string | null;
  summary: string | null;
}

export interface CheckRunReport {
  status: "in_progress" | "completed";
  conclusion?: "success" | "failure" | "neutral" | "cancelled" | "skipped" | "action_required";
  title: string;
  summary: string;
  detailsUrl?: string;
}

export type DeploymentState = "in_progress" | "success" | "failure" | "error" | "inactive";

export interface DeploymentView {
  id: number;
  sha: string;
  /** State of the newest status, or null if it has none. */
  state: DeploymentState | "pending" | "queued" | null;
}

export type RepoRole = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** The roles that may command prenv, approve a commit and get a kubeconfig. */
export const WRITE_ROLES: ReadonlySet<RepoRole> = new Set(["admin", "maintain", "write"]);

export interface IssueCommentView {
  id: number;
  body: string;
  author: string;
  /** GitHub's account type: "User", "Bot" or "Organization". */
  authorType: string;
  createdAt: string;
}

/** GitHub, for one pull request of one installation (and the repository's files at any commit). */
export interface GitHubPort extends RepoFiles {
  getPull(): Promise<PullRequest | null>;
  getConfig(): Promise<ConfigLookup>;
  listChangedFiles(): Promise<string[]>;
  checkStates(sha: string, names: readonly string[]): Promise<Map<string, CheckState>>;
  findComment(marker: string): Promise<{ id: number; body: string } | null>;
  /** prenv's newest comment that starts with `marker` (replies that carry one), or null. */
  latestComment(marker: string): Promise<{ id: number; body: string; createdAt: string } | null>;
  createComment(body: string): Promise<void>;
  updateComment(id: number, body: string): Promise<void>;
  /** The newest Deployments of `environment` (at most 5), without their states. */
  listDeployments(environment: string): Promise<{ id: number; sha: string }[]>;
  /** The state of a Deployment's newest status (null: it has none). */
  deploymentState(id: number): Promise<DeploymentView["state"]>;
  createDeployment(sha: string, environment: string, description: string): Promise<DeploymentView>;
  /** "gone": GitHub has no such Deployment (someone deleted it). */
  setDeploymentStatus(
    id: number,
    state: DeploymentState,
    opts: { environmentUrl?: string; description: string },
  ): Promise<"set" | "gone">;
  findCheckRun(sha: string, name: string): Promise<CheckRunView | null>;
  /** A comment on the PR, read fresh (commands are never taken from the queue message). */
  getComment(id: number): Promise<IssueCommentView | null>;
  /** The user's role on the repository, from the collaborator permission API. */
  permissionOf(login: string): Promise<RepoRole>;
  addReaction(commentId: number, content: "+1" | "-1" | "eyes" | "confused" | "rocket"): Promise<void>;
  /** Creates a check run; its id. */
  createCheckRun(sha: string, name: string, report: CheckRunReport): Promise<number>;
  updateCheckRun(id: number, report: CheckRunReport): Promise<void>;
}

/**
 * Annotations to apply on a namespace with one server-side-apply field manager: the ones that
 * manager wrote before and leaves out are removed. Built by record.ts only.
 */
export interface AnnotationWrite {
  manager: string;
  annotations: Record<string, string>;
}

export interface EnvironmentRecord {
  name: string;
  phase: "Active" | "Terminating";
  /** When deletion started (Terminating only), and what the namespace controller says blocks it. */
  deleting?: { since: string; blockedBy: string[] };
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PodDiagnosis {
  name: string;
  reason: string;
  message: string;
  logs: string | null;
}

export interface FailureReport {
  pods: PodDiagnosis[];
  events: { object: string; reason: string; message: string }[];
}

/**
 * Where a rollout stands, from one look at its workloads: ready; or not yet, naming what is still
 * rolling out (`pending`) and what will not get there (`failed`: its progress deadline passed).
 */
export type RolloutState = { ready: true } | { ready: false; pending: string[]; failed: string[] };

/** The host cluster. `asTenant` calls run impersonating the namespace's tenant service account. */
export interface ClusterPort {
  readEnvironment(namespace: string): Promise<EnvironmentRecord | null>;
  /** Every namespace prenv manages. */
  listEnvironments(): Promise<EnvironmentRecord[]>;
  /** Server-side apply of prenv's own objects, as the bot (field manager `prenv`). */
  applyAsBot(objects: KubeObject[]): Promise<void>;
  /** Server-side apply as the tenant; with dryRun nothing is persisted. Refusals throw MANIFEST_INVALID. */
  applyAsTenant(namespace: string, objects: KubeObject[], opts: { dryRun: boolean }): Promise<void>;
  deleteAsTenant(namespace: string, refs: ObjectRef[]): Promise<void>;
  /** One look at the workloads' rollout, as the tenant. */
  rolloutState(namespace: string, workloads: ObjectRef[]): Promise<RolloutState>;
  diagnose(namespace: string): Promise<FailureReport>;
  deleteNamespace(namespace: string): Promise<void>;
  /** Rewrites the annotations prenv keeps on the namespace under one field manager (see record.ts). */
  annotate(namespace: string, write: AnnotationWrite): Promise<void>;
  /** Scales Deployments and StatefulSets as the tenant: `sleep` to 0 (remembering replicas), `wake` back. */
  scaleWorkloads(namespace: string, to: "sleep" | "wake"): Promise<ScaleResult>;
  /** Deletes prenv's own objects as the bot; missing ones, and kinds the cluster does not serve, are skipped. */
  deleteAsBot(namespace: string, refs: ObjectRef[]): Promise<void>;
  /**
   * Waits, for at most `timeoutMs`, until the Gateway's controller has accepted every route (status
   * conditions Accepted and ResolvedRefs True for that Gateway), read as the bot.
   */
  waitForRoutes(
    namespace: string,
    routes: ObjectRef[],
    gateway: GatewayRef,
    timeoutMs: number,
  ): Promise<RouteWait>;
  /** Asks `url` (GET, through PRENV_GATEWAY_ADDRESS or DNS) until it answers below 500 (a 404 once it has lasted), for at most `timeoutMs`. */
  waitForUrl(url: string, timeoutMs: number): Promise<UrlWait>;
  /**
   * The virtual cluster of a host namespace, reached at `https://<apiHost>`: waits until it has
   * published its credentials and its API answers, for at most `timeoutMs`.
   */
  virtualCluster(namespace: string, apiHost: string, timeoutMs: number): Promise<VirtualClusterState>;
  /**
   * A token of at most `seconds` for the environment: a TokenRequest for the tenant service account
   * (namespace) or for prenv's developer service account inside the virtual cluster (vcluster).
   */
  issueAccess(namespace: string, via: AccessVia, seconds: number): Promise<IssuedAccess>;
}

export type Isolation = "namespace" | "vcluster";

/** The operator's Gateway. */
export interface GatewayRef {
  namespace: string;
  name: string;
}

/** One condition a Gateway's controller wrote on a route for that Gateway. */
export interface RouteCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** A route as last seen: missing, or the conditions its controller wrote for the Gateway (none yet: []). */
export interface RouteView {
  route: ObjectRef;
  exists: boolean;
  conditions: RouteCondition[];
}

export type RouteWait = { accepted: true } | { accepted: false; routes: RouteView[] };

/** The preview URL's answer: its status code, or why there was none (e.g. ECONNREFUSED, timeout). */
export type UrlWait = { answered: true; status: number } | { answered: false; last: string };

/** What an environment was built as, and (for a virtual cluster) where its API is. */
export type AccessVia = { isolation: "namespace" } | { isolation: "vcluster"; apiHost: string };

/**
 * Where a pull request's own objects go: its host namespace (as the tenant service account) or its
 * virtual cluster (as the virtual cluster's admin: anything goes inside, the host guards hold outside).
 */
export interface WorkloadCluster {
  /**
   * Server-side apply (field manager `prenv`); with dryRun nothing is persisted. Returns each object
   * as the server placed it (namespace resolved inside a virtual cluster). Refusals throw
   * MANIFEST_INVALID naming every refused object (a real apply stops at the first).
   */
  apply(objects: KubeObject[], opts: { dryRun: boolean }): Promise<ObjectRef[]>;
  /** Waits until CustomResourceDefinitions just applied are served (Established). */
  established(crdNames: string[], timeoutMs: number): Promise<void>;
  delete(refs: ObjectRef[]): Promise<void>;
  rolloutState(workloads: ObjectRef[]): Promise<RolloutState>;
  /** Failing pods and warning events in these namespaces (the host namespace itself in namespace mode). */
  diagnose(namespaces: string[]): Promise<FailureReport>;
}

export type VirtualClusterState =
  { ready: true; cluster: WorkloadCluster } | { ready: false; reason: string };

/** A short-lived credential for one environment, and where to use it. */
export interface IssuedAccess {
  /** The API server URL developers use: the host's, or the virtual cluster's per-PR host. */
  server: string;
  /** PEM CA bundle of that server, base64 (kubeconfig `certificate-authority-data`); null: public CA. */
  certificateAuthorityData: string | null;
  /** A bearer token. A credential: never log it. */
  token: string;
  /** When the API server stops accepting the token. */
  expiresAt: Date;
  /** The namespace a kubeconfig context should default to. */
  namespace: string;
  /** Who the token authenticates as, e.g. system:serviceaccount:pr-1-x:prenv-tenant. */
  subject: string;
}

export interface ScaleResult {
  /** Workloads changed, with the replica counts before and after. */
  changed: { kind: string; name: string; from: number; to: number }[];
}

export interface Clock {
  now(): Date;
}

export interface Logger {
  info(meta: object, msg: string): void;
  warn(meta: object, msg: string): void;
  error(meta: object, msg: string): void;
}
