/**
 * A stand-in for the GitHub REST API at the HTTP boundary, for integration tests that drive the real
 * Probot app (and its real Octokit clients) with recorded webhook payloads.
 *
 * It listens on two hosts, as GitHub does: the REST API (`url`, like api.github.com) and the web host
 * (`webUrl`, like github.com, where the OAuth device flow lives). Tests declare the calls they expect
 * with `route()`/`webRoute()` or with the stateful models below; anything else is answered 501 and
 * recorded. `verify()` then fails the test on every unexpected call, every route
 * called a different number of times than declared, and every request GitHub would have rejected.
 *
 * Octokit as Probot configures it retries 5xx answers after 1 s, 4 s and 9 s, which outlasts a test's
 * timeout: build the Probot under test with
 * `Octokit: ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } })`
 * so that an unexpected call fails fast and is reported by `verify()`.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { APP_ID, verifyAppJwt } from "./app-key.js";

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** `api`: the REST API (api.github.com); `web`: the web host (github.com), e.g. /login/device/code. */
export type GitHubHost = "api" | "web";

/** What a route handler sees of a request. */
export interface StandInRequest {
  readonly method: string;
  /** The path as sent, without the query (still percent-encoded). */
  readonly path: string;
  /** Pattern parameters, percent-decoded (`:path*` joins the remaining segments with `/`). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body; the raw text for a non-JSON body; `undefined` when there is none. */
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
}

/**
 * What a route handler answers. `status` defaults to 200. A string `body` is sent verbatim as
 * `text/plain; charset=utf-8` (unless `headers` set a content type), bytes (`Uint8Array`) as
 * `application/octet-stream`; anything else is sent as JSON.
 */
export interface StandInReply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (request: StandInRequest) => StandInReply | Promise<StandInReply>;

/**
 * How often a route must be called before `verify()`. Default: at least once.
 * `times`: exactly this many calls. `optional`: zero calls are fine too (with `times`: 0 or exactly
 * `times`).
 */
export interface RouteOptions {
  times?: number;
  optional?: boolean;
}

export interface RouteHandle {
  readonly host: GitHubHost;
  readonly method: string;
  readonly pattern: string;
  readonly options: Readonly<RouteOptions>;
  /** How many requests this route has answered so far. */
  readonly callCount: number;
}

export interface RecordedCall {
  /** Which of GitHub's hosts was asked: the REST API or the web host (OAuth endpoints). */
  readonly host: GitHubHost;
  readonly method: string;
  /** The path as sent, without the query (still percent-encoded). */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  /** `METHOD pattern` of the route that answered; `undefined` for an unexpected call. */
  readonly route: string | undefined;
  /** The status answered (0 while the handler is still running). */
  readonly status: number;
  /**
   * True when GitHub's own rule answered it: a user's token asking for a repository it may not
   * see gets 404 whether or not a route was declared (see `repository()`); never unexpected.
   */
  readonly hiddenFromUser?: boolean;
}

export interface StandInOptions {
  /** Clock for `created_at`, `updated_at`, token expiry. Default: the system clock. */
  now?: () => Date;
  /** The App's id and slug; the bot user is `<slug>[bot]`. Default: APP_ID from app-key.ts, "prenv". */
  appId?: number;
  appSlug?: string;
  /**
   * Fault injection at the HTTP boundary: called for every request before any route; a reply is
   * sent instead of routing the request (recorded with the route `(fault)`, never unexpected), and
   * `"reset"` destroys the connection without an answer.
   */
  faults?: (call: { host: GitHubHost; method: string; path: string }) => StandInReply | "reset" | undefined;
}

/**
 * Throw from a route handler to answer like GitHub does on an error: `{ message, documentation_url,
 * status, ...details }`. With `report: true` the answer is also a problem for `verify()` (use it for
 * requests GitHub would reject as malformed, which no working app sends).
 */
export class GitHubApiError extends Error {
  override readonly name = "GitHubApiError";

  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly report = false,
  ) {
    super(message);
  }

  /** The message plus the messages of any validation `errors`. */
  describe(): string {
    const errors = Array.isArray(this.details["errors"]) ? (this.details["errors"] as unknown[]) : [];
    const reasons = errors.flatMap((error) =>
      typeof error === "object" && error !== null && "message" in error ? [String(error.message)] : [],
    );
    return reasons.length === 0 ? this.message : `${this.message} (${reasons.join("; ")})`;
  }

  toReply(): StandInReply {
    return {
      status: this.status,
      body: {
        message: this.message,
        documentation_url: "https://docs.github.com/rest",
        status: String(this.status),
        ...this.details,
      },
    };
  }
}

export interface GitHubUser {
  login: string;
  id: number;
  type: "User" | "Bot";
}

export interface IssuedInstallationToken {
  readonly installationId: number;
  readonly token: string;
  readonly expiresAt: string;
  /** The App JWT the token was requested with (sent as `authorization: bearer <jwt>`). */
  readonly jwt: string;
  /** The request body (requested `repositories`, `permissions`, ...), if any. */
  readonly requestBody: unknown;
}

export interface InstallationAuthModel {
  /** Tokens issued, oldest first. */
  readonly tokens: IssuedInstallationToken[];
}

export interface IssueComment {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: GitHubUser;
  author_association: string;
  created_at: string;
  updated_at: string;
}

export interface IssueCommentsModel {
  readonly owner: string;
  readonly repo: string;
  readonly issue: number;
  /** The issue's comments, oldest first; tests may read and change them. */
  readonly comments: IssueComment[];
  /** Comments deleted through the API. */
  readonly deleted: IssueComment[];
  /**
   * Appends `count` comments written by someone else (default user `octocat`), e.g. to test
   * pagination. `body` defaults to `seeded comment <n>` (1-based).
   */
  seedComments(count: number, body?: string | ((index: number) => string), user?: GitHubUser): IssueComment[];
}

export interface Deployment {
  id: number;
  node_id: string;
  url: string;
  sha: string;
  ref: string;
  task: string;
  payload: unknown;
  original_environment: string;
  environment: string;
  description: string | null;
  creator: GitHubUser;
  created_at: string;
  updated_at: string;
  statuses_url: string;
  repository_url: string;
  transient_environment: boolean;
  production_environment: boolean;
}

export const DEPLOYMENT_STATES = [
  "error",
  "failure",
  "inactive",
  "in_progress",
  "queued",
  "pending",
  "success",
] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

export interface DeploymentStatus {
  id: number;
  node_id: string;
  state: DeploymentState;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  creator: GitHubUser;
  created_at: string;
  updated_at: string;
  deployment_url: string;
  repository_url: string;
}

/** Fields accepted by `POST /repos/{owner}/{repo}/deployments`, for seeding. */
export interface DeploymentInput {
  ref: string;
  task?: string;
  payload?: unknown;
  environment?: string;
  description?: string | null;
  transient_environment?: boolean;
  production_environment?: boolean;
}

export interface DeploymentsModel {
  readonly owner: string;
  readonly repo: string;
  /** Deployments, oldest first. */
  readonly deployments: Deployment[];
  /** A deployment's statuses, oldest first. */
  statusesOf(deploymentId: number): DeploymentStatus[];
  latestStatus(deploymentId: number): DeploymentStatus | undefined;
  /** Adds a deployment that existed before the test, with optional statuses (oldest first). */
  seedDeployment(
    input: DeploymentInput,
    statuses?: Array<{
      state: DeploymentState;
      environment_url?: string;
      log_url?: string;
      description?: string;
    }>,
  ): Deployment;
}

export const CHECK_RUN_STATUSES = [
  "queued",
  "in_progress",
  "completed",
  "waiting",
  "requested",
  "pending",
] as const;
export const CHECK_RUN_CONCLUSIONS = [
  "action_required",
  "cancelled",
  "failure",
  "neutral",
  "success",
  "skipped",
  "stale",
  "timed_out",
] as const;

export interface CheckRun {
  id: number;
  node_id: string;
  name: string;
  head_sha: string;
  external_id: string | null;
  details_url: string | null;
  url: string;
  html_url: string;
  status: (typeof CHECK_RUN_STATUSES)[number];
  conclusion: (typeof CHECK_RUN_CONCLUSIONS)[number] | null;
  started_at: string | null;
  completed_at: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations_count: number };
  app: { id: number; slug: string; name: string };
  check_suite: { id: number };
  pull_requests: unknown[];
}

export interface CheckRunsModel {
  readonly owner: string;
  readonly repo: string;
  /** Check runs, oldest first. */
  readonly checkRuns: CheckRun[];
}

/**
 * A file of a stand-in repository: UTF-8 text, bytes (a binary file such as a chart archive), or
 * a symbolic link (git mode 120000; its blob is the target path, as git stores it).
 */
export type RepoFile = string | Uint8Array | { readonly symlink: string };

export interface ContentsModel {
  readonly owner: string;
  readonly repo: string;
  /** The ref these files are served at (branch name or commit sha). */
  readonly ref: string;
  /** Path → content; tests may change it between calls. */
  readonly files: Record<string, RepoFile>;
}

export interface PullRequestLike {
  number: number;
  base: { repo: { name: string; owner: { login: string } } };
}

export type PullRequestFileStatus =
  "added" | "removed" | "modified" | "renamed" | "copied" | "changed" | "unchanged";

export interface PullRequestFile {
  filename: string;
  status: PullRequestFileStatus;
  previous_filename?: string;
  additions?: number;
  deletions?: number;
}

export interface PullRequestModel<T extends PullRequestLike> {
  /** Answered by `GET /repos/{owner}/{repo}/pulls/{number}`; mutate or replace it between calls. */
  pr: T;
  /** Answered (paginated) by `GET .../pulls/{number}/files`. A bare string means `modified`. */
  files: Array<PullRequestFile | string>;
}

export type RepositoryRole = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface CollaboratorPermissionModel {
  /** Login → role; logins are matched case-insensitively, unknown logins answer 404. */
  readonly perms: Record<string, RepositoryRole>;
}

export interface UsersModel {
  /** Personal/OAuth token → login. `GET /user` answers 401 for any other token. */
  readonly tokens: Record<string, string>;
}

export interface UsersOptions {
  /** Default: required. */
  expect?: RouteOptions;
}

export interface RepoInstallationModel {
  /** The installation of the App on the repository; null answers 404 (not installed). */
  installationId: number | null;
}

export interface RepoInstallationOptions {
  /** Default: required. */
  expect?: RouteOptions;
}

export interface OAuthAppOptions {
  /** The App's client id (public). Default: `Iv23` + 16 hex characters derived from the App id. */
  clientId?: string;
  /** The App's client secret. Default: a random 40-hex string. */
  clientSecret?: string;
  /** The App setting "Enable Device Flow". Default: true. */
  deviceFlow?: boolean;
  /** Seconds a client must wait between polls (GitHub: 5). Default: 5. */
  interval?: number;
  /** Lifetime of a device code in seconds (GitHub: 899). Default: 899. */
  codeExpiresIn?: number;
  /** Lifetime of a user access token in seconds, or null when the App has token expiration off. Default: 28800 (8 h). */
  tokenExpiresIn?: number | null;
  /** Default: all optional. */
  expect?: { deviceCode?: RouteOptions; accessToken?: RouteOptions; checkToken?: RouteOptions };
}

export type DeviceAuthorizationState = "pending" | "authorized" | "denied" | "used";

export interface DeviceAuthorization {
  readonly deviceCode: string;
  readonly userCode: string;
  state: DeviceAuthorizationState;
  /** Who authorized it (set by `authorize()`). */
  login: string | null;
  /** Epoch ms of the request and of the last poll; seconds the client must now wait between polls. */
  readonly requestedAt: number;
  lastPollAt: number | null;
  interval: number;
  readonly expiresAt: number;
}

export interface UserAccessToken {
  readonly token: string;
  readonly login: string;
  readonly userId: number;
  /** Epoch ms, or null when it never expires. */
  readonly expiresAt: number | null;
  revoked: boolean;
}

export interface OAuthAppModel {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Device authorizations requested through `POST /login/device/code`, oldest first. */
  readonly devices: DeviceAuthorization[];
  /** User access tokens of this App (`ghu_…`), by token. */
  readonly tokens: Map<string, UserAccessToken>;
  /** The user enters `userCode` at the verification URL and authorizes the App, as `login`. */
  authorize(userCode: string, login: string): void;
  /** The user enters `userCode` and clicks Cancel. */
  deny(userCode: string): void;
  /** A user access token of this App for `login`, as a finished sign-in hands out. */
  issueToken(login: string): string;
}

export interface RepositoryOptions {
  /** Default: a stable id derived from owner/repo. */
  id?: number;
  /** Default: true. A private repository is visible to a user's token only with the App installed and the user a collaborator. */
  private?: boolean;
  /** Whether prenv's App is installed on it. Default: true. */
  installed?: boolean;
  /** Default: optional. */
  expect?: RouteOptions;
}

export interface RepositoryModel {
  readonly owner: string;
  readonly repo: string;
  readonly id: number;
  private: boolean;
  installed: boolean;
}

export interface InstallationAuthOptions {
  /** Default: `{ optional: true }`. */
  expect?: RouteOptions;
  /** `permissions` answered when the request asks for none. Default: `{ metadata: "read" }`. */
  permissions?: Record<string, string>;
}

export interface IssueCommentsOptions {
  /** Default: list, create, update required; delete optional. A given entry replaces the default. */
  expect?: { list?: RouteOptions; create?: RouteOptions; update?: RouteOptions; delete?: RouteOptions };
}

export interface DeploymentsOptions {
  /** Branch or tag name → commit sha, used to fill a deployment's `sha` when `ref` is not a sha. */
  refs?: Record<string, string>;
  /** Default: create, list, createStatus, listStatuses required; get, delete optional. */
  expect?: {
    create?: RouteOptions;
    list?: RouteOptions;
    get?: RouteOptions;
    delete?: RouteOptions;
    createStatus?: RouteOptions;
    listStatuses?: RouteOptions;
  };
}

export interface CheckRunsOptions {
  /** Default: create, update, listForRef required; get optional. */
  expect?: { create?: RouteOptions; update?: RouteOptions; get?: RouteOptions; listForRef?: RouteOptions };
}

export interface ContentsOptions {
  /** The branch served when a request has no `ref`. Default: "main". */
  defaultBranch?: string;
  /** Default: `get` and `tree` required, `blob` optional. */
  expect?: { get?: RouteOptions; tree?: RouteOptions; blob?: RouteOptions };
}

export interface PullRequestOptions {
  files?: Array<PullRequestFile | string>;
  /** Default: both required. */
  expect?: { get?: RouteOptions; files?: RouteOptions };
}

export interface CollaboratorPermissionOptions {
  /** Default: required. */
  expect?: RouteOptions;
}

export interface ConfigFileOptions {
  /** Default: ".github/prenv.yml" (what `context.config("prenv.yml")` reads). */
  path?: string;
  /** The file in the owner's `.github` repository. Default: null (404). */
  orgText?: string | null;
  /** A request with a `ref` other than this answers 404. Default: "main". */
  defaultBranch?: string;
  /** Default: repo required, org optional. */
  expect?: { repo?: RouteOptions; org?: RouteOptions };
}

export interface ConfigFileModel {
  /** YAML in the repository's default branch; `null` answers 404. */
  text: string | null;
  /** YAML in the owner's `.github` repository (the plugin's fallback); `null` answers 404. */
  orgText: string | null;
}

// ---------------------------------------------------------------------------------------------------
// Route patterns
// ---------------------------------------------------------------------------------------------------

type Segment =
  { kind: "literal"; value: string } | { kind: "param"; name: string } | { kind: "rest"; name: string };

function compilePattern(pattern: string): Segment[] {
  if (!pattern.startsWith("/")) {
    throw new Error(`route pattern must start with "/": ${pattern}`);
  }
  const parts = pattern.slice(1).split("/");
  return parts.map((part, index): Segment => {
    if (!part.startsWith(":")) return { kind: "literal", value: decode(part) };
    if (!part.endsWith("*")) return { kind: "param", name: part.slice(1) };
    if (index !== parts.length - 1) {
      throw new Error(`a wildcard parameter must be the last segment: ${pattern}`);
    }
    return { kind: "rest", name: part.slice(1, -1) };
  });
}

/** Matches a raw (percent-encoded) path; segments are decoded one by one, so `a%2Fb` is one segment. */
function matchPattern(segments: readonly Segment[], rawPath: string): Record<string, string> | undefined {
  const parts = rawPath.slice(1).split("/");
  const params: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    if (segment.kind === "rest") {
      params[segment.name] = parts.slice(index).map(decode).join("/");
      return params;
    }
    const part = parts[index];
    if (part === undefined) return undefined;
    if (segment.kind === "literal" && decode(part) !== segment.value) return undefined;
    if (segment.kind === "param") {
      if (part === "") return undefined;
      params[segment.name] = decode(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

// ---------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------

interface RouteEntry extends RouteHandle {
  readonly segments: readonly Segment[];
  readonly handler: RouteHandler;
  callCount: number;
}

interface MutableCall extends RecordedCall {
  status: number;
  hiddenFromUser?: boolean;
}

const ID_BASES = {
  comment: 1_000_000,
  deployment: 2_000_000,
  deploymentStatus: 3_000_000,
  checkRun: 4_000_000,
  checkSuite: 5_000_000,
  user: 6_000_000,
  authorization: 7_000_000,
} as const;
type IdKind = keyof typeof ID_BASES;

/** What the models need from the stand-in. */
interface ModelHost {
  readonly baseUrl: string;
  readonly webUrl: string;
  readonly app: { id: number; slug: string; name: string };
  readonly bot: GitHubUser;
  readonly commentsByRepo: Map<string, IssueCommentsModel[]>;
  readonly contentsByRepo: Map<string, Map<string, ContentsModel>>;
  route(
    method: HttpMethod,
    pattern: string,
    handler: RouteHandler,
    options?: RouteOptions,
    host?: GitHubHost,
  ): RouteHandle;
  /** The stand-in's clock, epoch ms. */
  now(): number;
  timestamp(offsetMs?: number): string;
  nextId(kind: IdKind): number;
  /** Throws if `model` (e.g. "deployments(acme, web)") is already enabled, then remembers it. */
  claim(model: string): void;
  onTokenIssued(token: string): void;
  /** Users' roles per `owner/repo` (from collaboratorPermission()). */
  readonly collaborators: Map<string, Record<string, RepositoryRole>>;
  /** Repositories enabled with repository(), by `owner/repo`. */
  readonly repositories: Map<string, RepositoryModel>;
  /** User access tokens of the App (oauthApp()), by token. */
  readonly userTokens: Map<string, UserAccessToken>;
  /** A stable user id for `login`. */
  userId(login: string): number;
  /** Requests for which this returns true need no installation token (they carry another credential). */
  exemptFromInstallationAuth(matches: (call: RecordedCall) => boolean): void;
}

async function listen(): Promise<{ server: Server; url: string }> {
  const server = createServer();
  // An idle connection stays open longer on the server than in the client (fetch drops it after
  // 4 s), as GitHub's front end keeps it: a request never goes out on a connection the server is
  // closing that moment (the tests' Octokit does not retry; CI met that ECONNRESET once).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

export async function startGitHubStandIn(options: StandInOptions = {}): Promise<GitHubStandIn> {
  return new GitHubStandIn(await listen(), await listen(), options);
}

export class GitHubStandIn {
  /** Base URL to give Probot/Octokit as `baseUrl` (no trailing slash): the REST API host. */
  readonly url: string;
  /** Base URL of the web host (github.com's stand-in), where OAuth's /login/... endpoints live. */
  readonly webUrl: string;

  readonly #server: Server;
  readonly #webServer: Server;
  readonly #now: () => Date;
  readonly #app: { id: number; slug: string; name: string };
  #routes: RouteEntry[] = [];
  readonly #calls: MutableCall[] = [];
  readonly #problems: string[] = [];
  readonly #claimed = new Set<string>();
  readonly #commentsByRepo = new Map<string, IssueCommentsModel[]>();
  readonly #contentsByRepo = new Map<string, Map<string, ContentsModel>>();
  /** Tokens stay valid across `reset()`, like real ones: a Probot may cache one between tests. */
  readonly #issuedTokens = new Set<string>();
  #requireInstallationToken = false;
  #authExempt: ((call: RecordedCall) => boolean)[] = [];
  #ids: Record<IdKind, number> = { ...ID_BASES };
  readonly #collaborators = new Map<string, Record<string, RepositoryRole>>();
  readonly #repositories = new Map<string, RepositoryModel>();
  /** Like installation tokens, user access tokens stay valid across `reset()`. */
  readonly #userTokens = new Map<string, UserAccessToken>();
  readonly #userIds = new Map<string, number>();
  readonly #faults: StandInOptions["faults"];

  /** Use {@link startGitHubStandIn}. */
  constructor(
    api: { server: Server; url: string },
    web: { server: Server; url: string },
    options: StandInOptions,
  ) {
    this.#server = api.server;
    this.#webServer = web.server;
    this.url = api.url;
    this.webUrl = web.url;
    this.#now = options.now ?? (() => new Date());
    const slug = options.appSlug ?? "prenv";
    this.#app = { id: options.appId ?? APP_ID, slug, name: slug };
    this.#faults = options.faults;
    for (const [server, host] of [
      [api.server, "api"],
      [web.server, "web"],
    ] as const) {
      server.on("request", (req: IncomingMessage, res: ServerResponse) => {
        this.#handle(req, res, host).catch((error: unknown) => {
          this.#problems.push(`stand-in failed on ${req.method} ${req.url}: ${describeError(error)}`);
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
      });
    }
  }

  /** Every request received, in arrival order. */
  get calls(): readonly RecordedCall[] {
    return this.#calls;
  }

  /** Requests that matched no route (answered 501). */
  get unexpectedCalls(): readonly RecordedCall[] {
    return this.#calls.filter((call) => call.route === undefined && !call.hiddenFromUser);
  }

  /**
   * Declares an expected call to the REST API. `pattern` matches the path only (`:name` is one
   * segment, a final `:name*` the rest of the path). A route registered later takes precedence over
   * earlier ones; registering the same method and pattern again replaces the earlier route (and its
   * expectation).
   */
  route(method: HttpMethod, pattern: string, handler: RouteHandler, options: RouteOptions = {}): RouteHandle {
    return this.#addRoute("api", method, pattern, handler, options);
  }

  /** As {@link route}, for the web host (`webUrl`). */
  webRoute(
    method: HttpMethod,
    pattern: string,
    handler: RouteHandler,
    options: RouteOptions = {},
  ): RouteHandle {
    return this.#addRoute("web", method, pattern, handler, options);
  }

  #addRoute(
    host: GitHubHost,
    method: HttpMethod,
    pattern: string,
    handler: RouteHandler,
    options: RouteOptions,
  ): RouteHandle {
    const entry: RouteEntry = {
      host,
      method,
      pattern,
      options: { ...options },
      segments: compilePattern(pattern),
      handler,
      callCount: 0,
    };
    this.#routes = this.#routes.filter(
      (route) => route.host !== host || route.method !== method || route.pattern !== pattern,
    );
    this.#routes.push(entry);
    return entry;
  }

  /** Everything `verify()` would complain about, one line each. */
  problems(): string[] {
    const problems = this.unexpectedCalls.map(
      (call) => `unexpected call: ${describeCall(call)} (answered 501; declare it with route() or a model)`,
    );
    problems.push(...this.#problems);
    for (const route of this.#routes) {
      const problem = countProblem(route);
      if (problem !== undefined) problems.push(problem);
    }
    return problems;
  }

  /** Throws an Error listing every problem (see the module comment) and the calls received. */
  verify(): void {
    const problems = this.problems();
    if (problems.length === 0) return;
    const calls = this.#calls.map((call, index) => `  ${index + 1}. ${describeCall(call)} -> ${call.status}`);
    throw new Error(
      [
        `GitHub stand-in found ${problems.length} problem(s):`,
        ...problems.map((problem) => `  - ${problem}`),
        `Calls received (${this.#calls.length}):`,
        ...calls,
      ].join("\n"),
    );
  }

  /** Forgets all routes, models, calls and problems (ids start over); issued tokens stay valid. */
  reset(): void {
    this.#routes = [];
    this.#calls.length = 0;
    this.#problems.length = 0;
    this.#claimed.clear();
    this.#commentsByRepo.clear();
    this.#contentsByRepo.clear();
    this.#requireInstallationToken = false;
    this.#authExempt = [];
    this.#ids = { ...ID_BASES };
    this.#collaborators.clear();
    this.#repositories.clear();
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.#server, this.#webServer].map((server) => {
        const closed = new Promise<void>((resolve, reject) =>
          server.close((error) => (error ? reject(error) : resolve())),
        );
        server.closeAllConnections();
        return closed;
      }),
    );
  }

  // ----- models ------------------------------------------------------------------------------------

  /**
   * `POST /app/installations/:id/access_tokens` → 201 `{ token: "ghs_test_…", expires_at: +1h }`.
   * Optional by default (Probot caches tokens). Rejects (401, reported) a request whose
   * `authorization` is not `bearer <JWT signed with the test App key>`. Once enabled, every other
   * request must carry `authorization: token <a token issued here>`, or `verify()` reports it.
   */
  installationAuth(options: InstallationAuthOptions = {}): InstallationAuthModel {
    this.#requireInstallationToken = true;
    return enableInstallationAuth(this.#host(), options);
  }

  /**
   * An issue's (or pull request's) comments. Routes and default expectations:
   * `list` GET /repos/:o/:r/issues/:n/comments (paginated, `since`), `create` POST same path (201),
   * `update` PATCH /repos/:o/:r/issues/comments/:id (404 if unknown), `delete` DELETE same path
   * (204; optional). Pass `expect.<route>` to replace a default. The update and delete routes are per
   * repository and find comments of every issue enabled for it; their expectations come from the
   * first call for that repository.
   */
  issueComments(
    owner: string,
    repo: string,
    issue: number,
    options: IssueCommentsOptions = {},
  ): IssueCommentsModel {
    return enableIssueComments(this.#host(), owner, repo, issue, options);
  }

  /**
   * Deployments and their statuses. Routes (required unless noted): `create` POST
   * /repos/:o/:r/deployments (201), `list` GET same (filters `sha`, `ref`, `task`, `environment`;
   * newest first; paginated), `get` GET …/deployments/:id (optional), `delete` DELETE
   * …/deployments/:id (optional; 422 for an active deployment as GitHub does), `createStatus` POST
   * …/deployments/:id/statuses (201; `auto_inactive` as GitHub), `listStatuses` GET same (newest
   * first). A `ref` that is not a 40-hex sha resolves through `refs` (name → sha) or to a made-up sha.
   */
  deployments(owner: string, repo: string, options: DeploymentsOptions = {}): DeploymentsModel {
    return enableDeployments(this.#host(), owner, repo, options);
  }

  /**
   * Check runs. Routes: `create` POST /repos/:o/:r/check-runs (201), `update` PATCH
   * …/check-runs/:id, `get` GET …/check-runs/:id (optional), `listForRef` GET
   * /repos/:o/:r/commits/:ref/check-runs (`ref` is matched against head_sha; `check_name`, `status`,
   * `filter=latest|all`; `{ total_count, check_runs }`, paginated). Validates as GitHub does
   * (name/head_sha required, output needs title and summary, conclusion ⇒ completed).
   */
  checkRuns(owner: string, repo: string, options: CheckRunsOptions = {}): CheckRunsModel {
    return enableCheckRuns(this.#host(), owner, repo, options);
  }

  /**
   * Repository files at `ref`. Routes: `get` GET /repos/:o/:r/contents/:path* (`?ref=`, default
   * branch when absent; file, directory listing, raw content for `accept: …raw`, 404 otherwise; a
   * symbolic link to a file answers with that file, any other link with `type: "symlink"` and its
   * `target`), `tree` GET /repos/:o/:r/git/trees/:sha (`sha` is the ref or a tree sha; `recursive`
   * present ⇒ the whole tree; modes 100644, 120000 for links, 040000) and `blob` GET
   * /repos/:o/:r/git/blobs/:sha (base64 in 60-column lines, or the bytes for `accept: …raw`; 404
   * for a sha no served ref has). Calling it again for the same repository adds another ref
   * (routes and options come from the first call).
   */
  contents(
    owner: string,
    repo: string,
    files: Record<string, RepoFile>,
    ref: string,
    options: ContentsOptions = {},
  ): ContentsModel {
    return enableContents(this.#host(), owner, repo, files, ref, options);
  }

  /**
   * A pull request. Routes: `get` GET /repos/:o/:r/pulls/:n → `model.pr`; `files` GET
   * …/pulls/:n/files → `model.files` (paginated).
   */
  pullRequest<T extends PullRequestLike>(pr: T, options: PullRequestOptions = {}): PullRequestModel<T> {
    return enablePullRequest(this.#host(), pr, options);
  }

  /** GET /repos/:o/:r/collaborators/:username/permission → `{ permission, role_name, user }`; 404 for unknown users. */
  collaboratorPermission(
    owner: string,
    repo: string,
    perms: Record<string, RepositoryRole>,
    options: CollaboratorPermissionOptions = {},
  ): CollaboratorPermissionModel {
    return enableCollaboratorPermission(this.#host(), owner, repo, perms, options);
  }

  /**
   * What Probot's `context.config("prenv.yml")` fetches (via @probot/octokit-plugin-config):
   * `repo` GET /repos/:o/:r/contents/.github%2Fprenv.yml with no `ref` (the default branch) and
   * `accept: application/vnd.github.v3.raw`, answered with the raw YAML or 404; when that is 404 the
   * plugin asks `org` GET /repos/:o/.github/contents/.github%2Fprenv.yml (optional; `orgText`).
   * Register it after any `contents()` for the same repository, or that route takes precedence.
   */
  configFile(
    owner: string,
    repo: string,
    text: string | null,
    options: ConfigFileOptions = {},
  ): ConfigFileModel {
    return enableConfigFile(this.#host(), owner, repo, text, options);
  }

  /**
   * Users behind personal or OAuth tokens: `GET /user` with `authorization: token|bearer <token>`
   * answers that user, any other credential 401 "Bad credentials" (as GitHub does). These requests
   * carry the user's token, not an installation token.
   */
  users(tokens: Record<string, string>, options: UsersOptions = {}): UsersModel {
    return enableUsers(this.#host(), tokens, options);
  }

  /**
   * `GET /repos/:o/:r/installation`, authenticated as the App (JWT): the App's installation on the
   * repository, or 404 when it is not installed there.
   */
  repoInstallation(
    owner: string,
    repo: string,
    installationId: number | null,
    options: RepoInstallationOptions = {},
  ): RepoInstallationModel {
    return enableRepoInstallation(this.#host(), owner, repo, installationId, options);
  }

  /**
   * prenv's GitHub App as an OAuth client, as GitHub documents it for GitHub Apps:
   * - web host `POST /login/device/code` (`client_id`): 200 `{ device_code, user_code,
   *   verification_uri, expires_in, interval }`; 400 `device_flow_disabled` when the App's "Enable
   *   Device Flow" is off, 400 `incorrect_client_credentials` for an unknown client id;
   * - web host `POST /login/oauth/access_token` (`client_id`, `device_code`, `grant_type`
   *   urn:ietf:params:oauth:grant-type:device_code): 200 with `{ access_token: "ghu_…", expires_in,
   *   refresh_token, refresh_token_expires_in, token_type, scope }` once `authorize()`d, else 200 with
   *   `{ error, error_description, error_uri }`: `authorization_pending`, `slow_down` (polled sooner
   *   than `interval` after the last poll: 5 s are added and the new `interval` is returned),
   *   `expired_token`, `access_denied`, `incorrect_device_code`, `incorrect_client_credentials`,
   *   `unsupported_grant_type`. Both take form or JSON parameters and answer JSON to
   *   `accept: application/json`, a form-encoded body otherwise.
   * - REST `POST /applications/:client_id/token` (check a token; basic auth client_id:client_secret,
   *   JSON `{ access_token }`): 200 with the authorization (`user`, `app`, `expires_at`, …) for a live
   *   token of this App; 404 for any other token, or wrong client credentials; 422 (reported) for
   *   a body without `access_token`.
   * A user access token of this App authenticates REST requests as its user, and sees a repository
   * only as GitHub shows it to such a token (see {@link repository}).
   */
  oauthApp(options: OAuthAppOptions = {}): OAuthAppModel {
    return enableOAuthApp(this.#host(), options);
  }

  /**
   * `GET /repos/:o/:r`, and what a user access token of the App may see of the repository: a private
   * repository only where the App is installed and the user has a role (collaboratorPermission());
   * a public one always, read-only for others. For a user token, every `/repos/:o/:r/…` request on a
   * repository it cannot see (or one not enabled here) is answered 404 before any route runs, as
   * GitHub does.
   */
  repository(owner: string, repo: string, options: RepositoryOptions = {}): RepositoryModel {
    return enableRepository(this.#host(), owner, repo, options);
  }

  // ----- plumbing ----------------------------------------------------------------------------------

  #host(): ModelHost {
    return {
      baseUrl: this.url,
      webUrl: this.webUrl,
      app: this.#app,
      bot: { login: `${this.#app.slug}[bot]`, id: this.#app.id + 40_000_000, type: "Bot" },
      commentsByRepo: this.#commentsByRepo,
      contentsByRepo: this.#contentsByRepo,
      route: (method, pattern, handler, options, host = "api") =>
        this.#addRoute(host, method, pattern, handler, options ?? {}),
      now: () => this.#now().getTime(),
      timestamp: (offsetMs = 0) => isoSeconds(new Date(this.#now().getTime() + offsetMs)),
      nextId: (kind) => ++this.#ids[kind],
      claim: (model) => {
        if (this.#claimed.has(model)) throw new Error(`standIn.${model} is already enabled (reset() first)`);
        this.#claimed.add(model);
      },
      onTokenIssued: (token) => this.#issuedTokens.add(token),
      exemptFromInstallationAuth: (matches) => this.#authExempt.push(matches),
      collaborators: this.#collaborators,
      repositories: this.#repositories,
      userTokens: this.#userTokens,
      userId: (login) => {
        const key = login.toLowerCase();
        if (!this.#userIds.has(key)) this.#userIds.set(key, 6_500_000 + this.#userIds.size + 1);
        return this.#userIds.get(key)!;
      },
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse, host: GitHubHost): Promise<void> {
    const url = new URL(req.url ?? "/", host === "api" ? this.url : this.webUrl);
    const method = (req.method ?? "GET").toUpperCase();
    const text = await readBody(req);
    const fault = this.#faults?.({ host, method, path: url.pathname });
    if (fault) {
      this.#calls.push({
        host,
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body: undefined,
        headers: req.headers,
        route: "(fault)",
        status: fault === "reset" ? 0 : (fault.status ?? 200),
      });
      if (fault === "reset") req.socket.destroy();
      else send(res, fault);
      return;
    }
    const parsed = parseBody(text, req.headers["content-type"]);
    const route = this.#routes.findLast(
      (entry) => entry.host === host && entry.method === method && matchPattern(entry.segments, url.pathname),
    );
    const call: MutableCall = {
      host,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: parsed.body,
      headers: req.headers,
      route: route ? `${route.method} ${route.pattern}` : undefined,
      status: 0,
    };
    this.#calls.push(call);
    this.#checkAuthorization(call);
    const hidden = this.#hiddenFromUser(call);
    if (hidden) call.hiddenFromUser = true;
    const reply = hidden ?? (await this.#answer(call, route, url, parsed.error));
    call.status = reply.status ?? 200;
    send(res, reply);
  }

  async #answer(
    call: MutableCall,
    route: RouteEntry | undefined,
    url: URL,
    parseError: string | undefined,
  ): Promise<StandInReply> {
    if (!route) {
      return {
        status: 501,
        body: { message: `GitHub stand-in: no route for ${call.method} ${call.path}`, status: "501" },
      };
    }
    route.callCount += 1;
    if (parseError !== undefined) {
      this.#problems.push(`${describeCall(call)} sent a body that is not JSON: ${parseError}`);
      return new GitHubApiError(400, "Problems parsing JSON").toReply();
    }
    const params = matchPattern(route.segments, call.path) ?? {};
    const request: StandInRequest = { ...call, params, query: new URLSearchParams(url.search) };
    try {
      return await route.handler(request);
    } catch (error) {
      if (error instanceof GitHubApiError) {
        if (error.report) {
          this.#problems.push(
            `GitHub would reject ${describeCall(call)} with ${error.status}: ${error.describe()}`,
          );
        }
        return error.toReply();
      }
      this.#problems.push(`handler of ${call.route} threw on ${describeCall(call)}: ${describeError(error)}`);
      return { status: 500, body: { message: `GitHub stand-in: handler threw: ${describeError(error)}` } };
    }
  }

  /** The live user access token of the App a REST request carries, if any. */
  #userTokenOf(call: RecordedCall): UserAccessToken | undefined {
    if (call.host !== "api") return undefined;
    const match = /^(?:token|bearer) (\S+)$/i.exec(call.headers.authorization ?? "");
    const token = match ? this.#userTokens.get(match[1]!) : undefined;
    if (!token || token.revoked) return undefined;
    return token.expiresAt === null || token.expiresAt > this.#now().getTime() ? token : undefined;
  }

  /** 404 for a user token's request on a repository it may not see (GitHub's answer), else null. */
  #hiddenFromUser(call: RecordedCall): StandInReply | null {
    const user = this.#userTokenOf(call);
    const match = /^\/repos\/([^/]+)\/([^/]+)(?:\/|$)/.exec(call.path);
    if (!user || !match) return null;
    const key = `${decode(match[1]!)}/${decode(match[2]!)}`.toLowerCase();
    const repository = [...this.#repositories.entries()].find(([k]) => k.toLowerCase() === key)?.[1];
    if (repository && roleOfUser(this.#collaborators, repository, user.login) !== null) return null;
    return notFound().toReply();
  }

  #checkAuthorization(call: RecordedCall): void {
    if (call.host !== "api") return;
    if (!this.#requireInstallationToken || call.path.startsWith("/app/")) return;
    if (this.#authExempt.some((matches) => matches(call))) return;
    if (this.#userTokenOf(call)) return;
    const authorization = call.headers.authorization ?? "";
    const [scheme = "", token = ""] = authorization.split(" ");
    if (scheme.toLowerCase() === "token" && this.#issuedTokens.has(token)) return;
    this.#problems.push(
      `${describeCall(call)} was not authenticated with an installation token issued by the stand-in ` +
        `(authorization scheme: ${scheme === "" ? "none" : scheme})`,
    );
  }
}

function countProblem(route: RouteEntry): string | undefined {
  const { times, optional = false } = route.options;
  const name = `${route.host === "web" ? "(web) " : ""}${route.method} ${route.pattern}`;
  if (optional && route.callCount === 0) return undefined;
  if (times !== undefined) {
    return route.callCount === times
      ? undefined
      : `route ${name} expected exactly ${times} call(s), got ${route.callCount}`;
  }
  if (route.callCount === 0) {
    return `route ${name} was never called (declare it { optional: true } if that is fine)`;
  }
  return undefined;
}

function describeCall(call: RecordedCall): string {
  const query = new URLSearchParams(call.query).toString();
  const body = call.body === undefined ? "" : ` ${truncate(JSON.stringify(call.body), 200)}`;
  const host = call.host === "web" ? "(web) " : "";
  return `${host}${call.method} ${call.path}${query === "" ? "" : `?${query}`}${body}`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(text: string, contentType: string | undefined): { body: unknown; error?: string } {
  if (text === "") return { body: undefined };
  if (!(contentType ?? "").includes("json")) return { body: text };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch (error) {
    return { body: text, error: describeError(error) };
  }
}

function send(res: ServerResponse, reply: StandInReply): void {
  const status = reply.status ?? 200;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.headers ?? {})) headers[name.toLowerCase()] = value;
  if (reply.body === undefined || status === 204 || status === 304) {
    res.writeHead(status, headers).end();
    return;
  }
  if (reply.body instanceof Uint8Array) {
    headers["content-type"] ??= "application/octet-stream";
    res.writeHead(status, headers).end(reply.body);
    return;
  }
  const isText = typeof reply.body === "string";
  headers["content-type"] ??= isText ? "text/plain; charset=utf-8" : "application/json; charset=utf-8";
  res.writeHead(status, headers).end(isText ? (reply.body as string) : JSON.stringify(reply.body));
}

// ---------------------------------------------------------------------------------------------------
// Helpers shared by the models
// ---------------------------------------------------------------------------------------------------

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function repoPath(owner: string, repo: string): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
}

function sha1(data: string | Buffer): string {
  return createHash("sha1").update(data).digest("hex");
}

/** Git's object id of a blob, as `git hash-object` computes it. */
function blobSha(content: string | Buffer): string {
  const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return sha1(Buffer.concat([Buffer.from(`blob ${data.length}\0`), data]));
}

function nodeId(kind: string, id: number): string {
  return Buffer.from(`${kind}:${id}`).toString("base64url");
}

function notFound(): GitHubApiError {
  return new GitHubApiError(404, "Not Found");
}

/** A 422 GitHub would answer to a malformed request; reported by `verify()`. */
function invalid(resource: string, field: string, message: string): GitHubApiError {
  return new GitHubApiError(
    422,
    "Validation Failed",
    { errors: [{ resource, field, code: "invalid", message }] },
    true,
  );
}

function bodyObject(request: StandInRequest, resource: string): Record<string, unknown> {
  const { body } = request;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalid(resource, "", "the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function requiredString(body: Record<string, unknown>, field: string, resource: string): string {
  const value = body[field];
  if (typeof value !== "string" || value === "") {
    throw invalid(resource, field, `${field} is required and must be a non-empty string`);
  }
  return value;
}

function optionalString(
  body: Record<string, unknown>,
  field: string,
  resource: string,
  maxLength = Infinity,
): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalid(resource, field, `${field} must be a string`);
  if (value.length > maxLength) {
    throw invalid(resource, field, `${field} is too long (maximum is ${maxLength} characters)`);
  }
  return value;
}

function optionalBoolean(
  body: Record<string, unknown>,
  field: string,
  resource: string,
): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw invalid(resource, field, `${field} must be a boolean`);
  return value;
}

function optionalEnum<T extends string>(
  body: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
  resource: string,
): T | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw invalid(
      resource,
      field,
      `${field} must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

function numericParam(request: StandInRequest, name: string): number {
  const value = request.params[name] ?? "";
  if (!/^\d+$/.test(value)) throw notFound();
  return Number(value);
}

function positiveInt(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  const number = Number(value);
  return number >= 1 ? number : undefined;
}

/**
 * Answers one page of `items` the way GitHub paginates: `per_page` (default 30, at most 100),
 * `page` (default 1), and a `Link` header with rel="prev", "next", "last", "first" as applicable.
 */
function paginate<T>(
  request: StandInRequest,
  baseUrl: string,
  items: readonly T[],
  wrap: (page: T[]) => unknown = (page) => page,
): StandInReply {
  const perPage = Math.min(100, positiveInt(request.query.get("per_page")) ?? 30);
  const page = positiveInt(request.query.get("page")) ?? 1;
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const rels: Array<[string, number]> = [];
  if (page > 1) rels.push(["prev", page - 1]);
  if (page < last) rels.push(["next", page + 1], ["last", last]);
  if (page > 1) rels.push(["first", 1]);
  const pageUrl = (number: number): string => {
    const query = new URLSearchParams(request.query);
    query.set("page", String(number));
    return `${baseUrl}${request.path}?${query.toString()}`;
  };
  const link = rels.map(([rel, number]) => `<${pageUrl(number)}>; rel="${rel}"`).join(", ");
  return {
    body: wrap(items.slice((page - 1) * perPage, page * perPage)),
    headers: link === "" ? {} : { link },
  };
}

// ---------------------------------------------------------------------------------------------------
// Model: installation access tokens
// ---------------------------------------------------------------------------------------------------

function enableInstallationAuth(host: ModelHost, options: InstallationAuthOptions): InstallationAuthModel {
  host.claim("installationAuth()");
  const model: InstallationAuthModel = { tokens: [] };
  host.route(
    "POST",
    "/app/installations/:installation_id/access_tokens",
    (request) => {
      const jwt = appJwtOf(request);
      const token = `ghs_test_${randomBytes(18).toString("hex")}`;
      const expiresAt = host.timestamp(60 * 60 * 1000);
      const installationId = numericParam(request, "installation_id");
      model.tokens.push({ installationId, token, expiresAt, jwt, requestBody: request.body });
      host.onTokenIssued(token);
      const requested = (request.body as { permissions?: Record<string, string> } | undefined)?.permissions;
      return {
        status: 201,
        body: {
          token,
          expires_at: expiresAt,
          permissions: requested ?? options.permissions ?? { metadata: "read" },
          repository_selection: "all",
        },
      };
    },
    options.expect ?? { optional: true },
  );
  // `GET /app` with the App's JWT: the App itself (prenv reads its slug once to know its bot account).
  host.exemptFromInstallationAuth((call) => call.path === "/app");
  host.route(
    "GET",
    "/app",
    (request) => {
      appJwtOf(request);
      return {
        body: {
          id: host.app.id,
          slug: host.app.slug,
          node_id: nodeId("Integration", host.app.id),
          name: host.app.name,
          owner: { login: "prenv-operators", type: "Organization" },
          description: "",
          external_url: "https://example.test",
          html_url: `https://github.com/apps/${host.app.slug}`,
          created_at: host.timestamp(),
          updated_at: host.timestamp(),
          permissions: options.permissions ?? { metadata: "read" },
          events: [],
        },
      };
    },
    { optional: true },
  );
  return model;
}

// ---------------------------------------------------------------------------------------------------
// Model: users behind personal/OAuth tokens, and the App's installation on a repository
// ---------------------------------------------------------------------------------------------------

function enableUsers(host: ModelHost, tokens: Record<string, string>, options: UsersOptions): UsersModel {
  host.claim("users()");
  const model: UsersModel = { tokens: { ...tokens } };
  const ids = new Map<string, number>();
  host.exemptFromInstallationAuth((call) => call.path === "/user");
  host.route(
    "GET",
    "/user",
    (request) => {
      const match = /^(?:token|bearer) (\S+)$/i.exec(request.headers.authorization ?? "");
      const login = match ? model.tokens[match[1]!] : undefined;
      if (login === undefined) throw new GitHubApiError(401, "Bad credentials");
      if (!ids.has(login)) ids.set(login, host.nextId("user"));
      return { body: { login, id: ids.get(login), type: "User", site_admin: false } };
    },
    options.expect,
  );
  return model;
}

function enableRepoInstallation(
  host: ModelHost,
  owner: string,
  repo: string,
  installationId: number | null,
  options: RepoInstallationOptions,
): RepoInstallationModel {
  host.claim(`repoInstallation(${owner}, ${repo})`);
  const model: RepoInstallationModel = { installationId };
  const path = `${repoPath(owner, repo)}/installation`;
  host.exemptFromInstallationAuth((call) => call.path === path);
  host.route(
    "GET",
    path,
    (request) => {
      appJwtOf(request);
      if (model.installationId === null) throw notFound();
      return {
        body: {
          id: model.installationId,
          app_id: host.app.id,
          app_slug: host.app.slug,
          target_type: "Organization",
          account: { login: owner, type: "Organization" },
          repository_selection: "all",
        },
      };
    },
    options.expect,
  );
  return model;
}

// ---------------------------------------------------------------------------------------------------
// Model: the App as an OAuth client (device flow, check a token) and repositories as users see them
// ---------------------------------------------------------------------------------------------------

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const DEVICE_FLOW_ERRORS: Record<string, string> = {
  authorization_pending: "The authorization request is still pending.",
  slow_down: "Too many requests have been made in the same timeframe.",
  expired_token: "The `device_code` has expired.",
  access_denied: "The authorization request was denied.",
  incorrect_device_code: "The device_code provided is not valid.",
  incorrect_client_credentials: "The client_id and/or client_secret passed are incorrect.",
  unsupported_grant_type: "The grant type is not supported.",
  device_flow_disabled: "Device Flow must be explicitly enabled for this App",
};
const USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ";

function enableOAuthApp(host: ModelHost, options: OAuthAppOptions): OAuthAppModel {
  host.claim("oauthApp()");
  const clientId = options.clientId ?? `Iv23${sha1(`client:${host.app.id}`).slice(0, 16)}`;
  const clientSecret = options.clientSecret ?? randomBytes(20).toString("hex");
  const interval = options.interval ?? 5;
  const tokenExpiresIn = options.tokenExpiresIn === undefined ? 28_800 : options.tokenExpiresIn;
  const authorizationIds = new Map<string, number>();
  const byUserCode = (userCode: string): DeviceAuthorization => {
    const device = model.devices.find((d) => d.userCode === userCode);
    if (!device) throw new Error(`no device authorization with user code ${userCode}`);
    if (device.state !== "pending") throw new Error(`device authorization ${userCode} is ${device.state}`);
    return device;
  };
  const model: OAuthAppModel = {
    clientId,
    clientSecret,
    devices: [],
    tokens: new Map(),
    authorize(userCode, login) {
      const device = byUserCode(userCode);
      device.state = "authorized";
      device.login = login;
    },
    deny(userCode) {
      byUserCode(userCode).state = "denied";
    },
    issueToken(login) {
      const token = `ghu_${randomBytes(18).toString("hex")}`;
      const entry: UserAccessToken = {
        token,
        login,
        userId: host.userId(login),
        expiresAt: tokenExpiresIn === null ? null : host.now() + tokenExpiresIn * 1000,
        revoked: false,
      };
      model.tokens.set(token, entry);
      host.userTokens.set(token, entry);
      return token;
    },
  };

  host.route(
    "POST",
    "/login/device/code",
    (request) => {
      const params = oauthParams(request);
      if (params.get("client_id") !== clientId)
        return oauthError(request, 400, "incorrect_client_credentials");
      if (options.deviceFlow === false) return oauthError(request, 400, "device_flow_disabled");
      const now = host.now();
      const letters = Array.from(randomBytes(8), (b) => USER_CODE_LETTERS[b % USER_CODE_LETTERS.length]);
      const device: DeviceAuthorization = {
        deviceCode: randomBytes(20).toString("hex"),
        userCode: `${letters.slice(0, 4).join("")}-${letters.slice(4).join("")}`,
        state: "pending",
        login: null,
        requestedAt: now,
        lastPollAt: null,
        interval,
        expiresAt: now + (options.codeExpiresIn ?? 899) * 1000,
      };
      model.devices.push(device);
      return oauthReply(request, 200, {
        device_code: device.deviceCode,
        user_code: device.userCode,
        verification_uri: `${host.webUrl}/login/device`,
        expires_in: options.codeExpiresIn ?? 899,
        interval,
      });
    },
    options.expect?.deviceCode ?? { optional: true },
    "web",
  );

  host.route(
    "POST",
    "/login/oauth/access_token",
    (request) => {
      const params = oauthParams(request);
      if (params.get("client_id") !== clientId)
        return oauthError(request, 200, "incorrect_client_credentials");
      if (params.get("grant_type") !== DEVICE_GRANT)
        return oauthError(request, 200, "unsupported_grant_type");
      const device = model.devices.find((d) => d.deviceCode === params.get("device_code"));
      if (!device || device.state === "used") return oauthError(request, 200, "incorrect_device_code");
      const now = host.now();
      if (now >= device.expiresAt) return oauthError(request, 200, "expired_token");
      const last = device.lastPollAt ?? device.requestedAt;
      device.lastPollAt = now;
      if (now - last < device.interval * 1000) {
        device.interval += 5;
        return oauthError(request, 200, "slow_down", { interval: device.interval });
      }
      if (device.state === "denied") return oauthError(request, 200, "access_denied");
      if (device.state === "pending") return oauthError(request, 200, "authorization_pending");
      device.state = "used";
      const token = model.issueToken(device.login!);
      return oauthReply(request, 200, {
        access_token: token,
        ...(tokenExpiresIn === null
          ? {}
          : {
              expires_in: tokenExpiresIn,
              refresh_token: `ghr_${randomBytes(38).toString("hex").slice(0, 76)}`,
              refresh_token_expires_in: 15_811_200,
            }),
        token_type: "bearer",
        scope: "",
      });
    },
    options.expect?.accessToken ?? { optional: true },
    "web",
  );

  host.exemptFromInstallationAuth((call) => call.path.startsWith("/applications/"));
  host.route(
    "POST",
    "/applications/:client_id/token",
    (request) => {
      const expected = `basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
      if (
        request.params["client_id"] !== clientId ||
        request.headers.authorization?.toLowerCase() !== expected.toLowerCase()
      ) {
        throw notFound();
      }
      const body = request.body as { access_token?: unknown } | undefined;
      if (typeof body?.access_token !== "string" || body.access_token === "") {
        throw new GitHubApiError(
          422,
          "Validation Failed",
          { errors: [{ resource: "Authorization", field: "access_token", code: "missing_field" }] },
          true,
        );
      }
      const entry = model.tokens.get(body.access_token);
      const live = entry && !entry.revoked && (entry.expiresAt === null || entry.expiresAt > host.now());
      if (!entry || !live) throw notFound();
      if (!authorizationIds.has(entry.token)) authorizationIds.set(entry.token, host.nextId("authorization"));
      const id = authorizationIds.get(entry.token)!;
      return {
        body: {
          id,
          url: `${host.baseUrl}/authorizations/${id}`,
          scopes: [],
          token: entry.token,
          token_last_eight: entry.token.slice(-8),
          hashed_token: createHash("sha256").update(entry.token).digest("base64"),
          app: { client_id: clientId, name: host.app.name, url: `https://github.com/apps/${host.app.slug}` },
          note: null,
          note_url: null,
          updated_at: host.timestamp(),
          created_at: host.timestamp(),
          fingerprint: null,
          expires_at: entry.expiresAt === null ? null : isoSeconds(new Date(entry.expiresAt)),
          user: {
            login: entry.login,
            id: entry.userId,
            node_id: nodeId("User", entry.userId),
            type: "User",
            site_admin: false,
          },
          installation: null,
        },
      };
    },
    options.expect?.checkToken ?? { optional: true },
  );
  return model;
}

/** OAuth endpoints take their parameters from the query string, a form body or a JSON body. */
function oauthParams(request: StandInRequest): URLSearchParams {
  const params = new URLSearchParams(request.query);
  const { body } = request;
  if (typeof body === "string") {
    for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
  } else if (typeof body === "object" && body !== null) {
    for (const [k, v] of Object.entries(body)) if (typeof v === "string") params.set(k, v);
  }
  return params;
}

/** JSON to `accept: application/json`, else form-encoded, as GitHub's OAuth endpoints answer. */
function oauthReply(request: StandInRequest, status: number, fields: Record<string, unknown>): StandInReply {
  if ((request.headers.accept ?? "").includes("application/json")) return { status, body: fields };
  const form = new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)]));
  return {
    status,
    body: form.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
  };
}

function oauthError(
  request: StandInRequest,
  status: number,
  error: string,
  extra: Record<string, unknown> = {},
): StandInReply {
  return oauthReply(request, status, {
    error,
    error_description: DEVICE_FLOW_ERRORS[error] ?? error,
    error_uri:
      error === "device_flow_disabled"
        ? "https://docs.github.com"
        : "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow",
    ...extra,
  });
}

/** What a user's token sees of `repository`: the user's role, or null when it cannot see it at all. */
function roleOfUser(
  collaborators: Map<string, Record<string, RepositoryRole>>,
  repository: RepositoryModel,
  login: string,
): RepositoryRole | null {
  const key = `${repository.owner}/${repository.repo}`.toLowerCase();
  const perms = [...collaborators.entries()].find(([k]) => k.toLowerCase() === key)?.[1] ?? {};
  const found = Object.entries(perms).find(([l]) => l.toLowerCase() === login.toLowerCase())?.[1] ?? "none";
  if (!repository.private) return found === "none" ? "read" : found;
  return repository.installed && found !== "none" ? found : null;
}

function enableRepository(
  host: ModelHost,
  owner: string,
  repo: string,
  options: RepositoryOptions,
): RepositoryModel {
  host.claim(`repository(${owner}, ${repo})`);
  const model: RepositoryModel = {
    owner,
    repo,
    id: options.id ?? 10_000_000 + parseInt(sha1(`repo:${owner}/${repo}`).slice(0, 6), 16),
    private: options.private ?? true,
    installed: options.installed ?? true,
  };
  host.repositories.set(`${owner}/${repo}`, model);
  host.route(
    "GET",
    repoPath(owner, repo),
    (request) => {
      const match = /^(?:token|bearer) (\S+)$/i.exec(request.headers.authorization ?? "");
      const user = match ? host.userTokens.get(match[1]!) : undefined;
      const role = user ? roleOfUser(host.collaborators, model, user.login) : null;
      const rank = ["none", "read", "triage", "write", "maintain", "admin"].indexOf(role ?? "none");
      return {
        body: {
          id: model.id,
          node_id: nodeId("Repository", model.id),
          name: repo,
          full_name: `${owner}/${repo}`,
          private: model.private,
          visibility: model.private ? "private" : "public",
          owner: { login: owner, id: host.userId(owner), type: "Organization" },
          html_url: `https://github.com/${owner}/${repo}`,
          url: `${host.baseUrl}${repoPath(owner, repo)}`,
          default_branch: "main",
          ...(role === null
            ? {}
            : {
                permissions: {
                  admin: rank >= 5,
                  maintain: rank >= 4,
                  push: rank >= 3,
                  triage: rank >= 2,
                  pull: rank >= 1,
                },
              }),
        },
      };
    },
    options.expect ?? { optional: true },
  );
  return model;
}

function appJwtOf(request: StandInRequest): string {
  const match = /^bearer (\S+)$/i.exec(request.headers.authorization ?? "");
  if (!match) {
    throw new GitHubApiError(401, "A JSON web token could not be decoded", {}, true);
  }
  const jwt = match[1]!;
  try {
    verifyAppJwt(jwt);
  } catch (error) {
    throw new GitHubApiError(
      401,
      `A JSON web token could not be decoded (${describeError(error)})`,
      {},
      true,
    );
  }
  return jwt;
}

// ---------------------------------------------------------------------------------------------------
// Model: issue comments
// ---------------------------------------------------------------------------------------------------

const MAX_COMMENT_LENGTH = 65536;

function enableIssueComments(
  host: ModelHost,
  owner: string,
  repo: string,
  issue: number,
  options: IssueCommentsOptions,
): IssueCommentsModel {
  host.claim(`issueComments(${owner}, ${repo}, ${issue})`);
  const key = `${owner}/${repo}`;
  const siblings = host.commentsByRepo.get(key) ?? [];
  const base = repoPath(owner, repo);
  const newComment = (body: string, user: GitHubUser): IssueComment => {
    const id = host.nextId("comment");
    const now = host.timestamp();
    return {
      id,
      node_id: nodeId("IssueComment", id),
      url: `${host.baseUrl}${base}/issues/comments/${id}`,
      html_url: `https://github.com/${owner}/${repo}/pull/${issue}#issuecomment-${id}`,
      issue_url: `${host.baseUrl}${base}/issues/${issue}`,
      body,
      user: { ...user },
      author_association: user.type === "Bot" ? "NONE" : "MEMBER",
      created_at: now,
      updated_at: now,
    };
  };
  const model: IssueCommentsModel = {
    owner,
    repo,
    issue,
    comments: [],
    deleted: [],
    seedComments(count, body = (index) => `seeded comment ${index + 1}`, user) {
      const author = user ?? { login: "octocat", id: host.nextId("user"), type: "User" };
      const start = model.comments.length;
      const seeded = Array.from({ length: count }, (_, index) =>
        newComment(typeof body === "string" ? body : body(start + index), author),
      );
      model.comments.push(...seeded);
      return seeded;
    },
  };
  const path = `${base}/issues/${issue}/comments`;
  const expect = options.expect ?? {};
  host.route(
    "GET",
    path,
    (request) => {
      const since = request.query.get("since");
      const comments = since === null ? model.comments : model.comments.filter((c) => c.updated_at >= since);
      return paginate(request, host.baseUrl, comments);
    },
    expect.list,
  );
  host.route(
    "POST",
    path,
    (request) => {
      const text = commentBody(request);
      const comment = newComment(text, host.bot);
      model.comments.push(comment);
      return { status: 201, body: comment };
    },
    expect.create,
  );
  if (siblings.length === 0) registerCommentByIdRoutes(host, base, siblings, expect);
  siblings.push(model);
  host.commentsByRepo.set(key, siblings);
  return model;
}

function commentBody(request: StandInRequest): string {
  const body = bodyObject(request, "IssueComment");
  const text = requiredString(body, "body", "IssueComment");
  if (text.length > MAX_COMMENT_LENGTH) {
    throw invalid("IssueComment", "body", `body is too long (maximum is ${MAX_COMMENT_LENGTH} characters)`);
  }
  return text;
}

function registerCommentByIdRoutes(
  host: ModelHost,
  base: string,
  models: readonly IssueCommentsModel[],
  expect: { update?: RouteOptions; delete?: RouteOptions },
): void {
  const find = (request: StandInRequest): { model: IssueCommentsModel; index: number } => {
    const id = numericParam(request, "comment_id");
    for (const model of models) {
      const index = model.comments.findIndex((comment) => comment.id === id);
      if (index >= 0) return { model, index };
    }
    throw notFound();
  };
  const path = `${base}/issues/comments/:comment_id`;
  host.route(
    "PATCH",
    path,
    (request) => {
      const text = commentBody(request);
      const { model, index } = find(request);
      const comment = model.comments[index]!;
      comment.body = text;
      comment.updated_at = host.timestamp();
      return { body: comment };
    },
    expect.update,
  );
  host.route(
    "DELETE",
    path,
    (request) => {
      const { model, index } = find(request);
      model.deleted.push(...model.comments.splice(index, 1));
      return { status: 204 };
    },
    expect.delete ?? { optional: true },
  );
}

// ---------------------------------------------------------------------------------------------------
// Model: deployments and deployment statuses
// ---------------------------------------------------------------------------------------------------

function enableDeployments(
  host: ModelHost,
  owner: string,
  repo: string,
  options: DeploymentsOptions,
): DeploymentsModel {
  host.claim(`deployments(${owner}, ${repo})`);
  const base = repoPath(owner, repo);
  const statuses = new Map<number, DeploymentStatus[]>();
  const deployments: Deployment[] = [];

  const create = (input: DeploymentInput): Deployment => {
    const id = host.nextId("deployment");
    const now = host.timestamp();
    const environment = input.environment ?? "production";
    const resolved = /^[0-9a-f]{40}$/i.test(input.ref) ? input.ref : options.refs?.[input.ref];
    const deployment: Deployment = {
      id,
      node_id: nodeId("Deployment", id),
      url: `${host.baseUrl}${base}/deployments/${id}`,
      sha: resolved ?? sha1(`ref:${input.ref}`),
      ref: input.ref,
      task: input.task ?? "deploy",
      payload: input.payload ?? {},
      original_environment: environment,
      environment,
      description: input.description ?? null,
      creator: host.bot,
      created_at: now,
      updated_at: now,
      statuses_url: `${host.baseUrl}${base}/deployments/${id}/statuses`,
      repository_url: `${host.baseUrl}${base}`,
      transient_environment: input.transient_environment ?? false,
      production_environment: input.production_environment ?? environment === "production",
    };
    deployments.push(deployment);
    statuses.set(id, []);
    return deployment;
  };

  const addStatus = (deployment: Deployment, input: StatusInput): DeploymentStatus => {
    const id = host.nextId("deploymentStatus");
    const now = host.timestamp();
    if (input.environment !== undefined) deployment.environment = input.environment;
    const status: DeploymentStatus = {
      id,
      node_id: nodeId("DeploymentStatus", id),
      state: input.state,
      description: input.description ?? "",
      environment: deployment.environment,
      target_url: input.target_url ?? input.log_url ?? "",
      log_url: input.log_url ?? input.target_url ?? "",
      environment_url: input.environment_url ?? "",
      creator: host.bot,
      created_at: now,
      updated_at: now,
      deployment_url: deployment.url,
      repository_url: deployment.repository_url,
    };
    statuses.get(deployment.id)!.push(status);
    deployment.updated_at = now;
    return status;
  };

  const model: DeploymentsModel = {
    owner,
    repo,
    deployments,
    statusesOf: (id) => statuses.get(id) ?? [],
    latestStatus: (id) => statuses.get(id)?.at(-1),
    seedDeployment(input, seeded = []) {
      const deployment = create(input);
      for (const status of seeded) addStatus(deployment, status);
      return deployment;
    },
  };
  registerDeploymentRoutes(host, base, model, { create, addStatus }, options.expect ?? {});
  return model;
}

interface StatusInput {
  state: DeploymentState;
  description?: string;
  environment?: string;
  target_url?: string;
  log_url?: string;
  environment_url?: string;
}

function registerDeploymentRoutes(
  host: ModelHost,
  base: string,
  model: DeploymentsModel,
  ops: {
    create: (input: DeploymentInput) => Deployment;
    addStatus: (deployment: Deployment, input: StatusInput) => DeploymentStatus;
  },
  expect: NonNullable<DeploymentsOptions["expect"]>,
): void {
  const path = `${base}/deployments`;
  const find = (request: StandInRequest): Deployment => {
    const id = numericParam(request, "deployment_id");
    const deployment = model.deployments.find((candidate) => candidate.id === id);
    if (!deployment) throw notFound();
    return deployment;
  };
  host.route(
    "POST",
    path,
    (request) => ({ status: 201, body: ops.create(deploymentInput(request)) }),
    expect.create,
  );
  host.route(
    "GET",
    path,
    (request) => paginate(request, host.baseUrl, filterDeployments(model.deployments, request.query)),
    expect.list,
  );
  host.route(
    "GET",
    `${path}/:deployment_id`,
    (request) => ({ body: find(request) }),
    expect.get ?? { optional: true },
  );
  host.route(
    "DELETE",
    `${path}/:deployment_id`,
    (request) => {
      deleteDeployment(model, find(request));
      return { status: 204 };
    },
    expect.delete ?? { optional: true },
  );
  host.route(
    "POST",
    `${path}/:deployment_id/statuses`,
    (request) => {
      const deployment = find(request);
      const input = statusInput(request);
      const status = ops.addStatus(deployment, input);
      if (input.state === "success" && input.auto_inactive !== false) {
        for (const prior of autoInactiveTargets(model, deployment))
          ops.addStatus(prior, { state: "inactive" });
      }
      return { status: 201, body: status };
    },
    expect.createStatus,
  );
  host.route(
    "GET",
    `${path}/:deployment_id/statuses`,
    (request) => paginate(request, host.baseUrl, model.statusesOf(find(request).id).toReversed()),
    expect.listStatuses,
  );
}

function deploymentInput(request: StandInRequest): DeploymentInput {
  const body = bodyObject(request, "Deployment");
  const payload = body["payload"];
  if (
    payload !== undefined &&
    typeof payload !== "string" &&
    (typeof payload !== "object" || payload === null)
  ) {
    throw invalid("Deployment", "payload", "payload must be an object or a JSON string");
  }
  return {
    ref: requiredString(body, "ref", "Deployment"),
    task: optionalString(body, "task", "Deployment"),
    payload,
    environment: optionalString(body, "environment", "Deployment"),
    description: optionalString(body, "description", "Deployment", 140) ?? null,
    transient_environment: optionalBoolean(body, "transient_environment", "Deployment"),
    production_environment: optionalBoolean(body, "production_environment", "Deployment"),
  };
}

function statusInput(request: StandInRequest): StatusInput & { auto_inactive?: boolean } {
  const body = bodyObject(request, "DeploymentStatus");
  const state = optionalEnum(body, "state", DEPLOYMENT_STATES, "DeploymentStatus");
  if (state === undefined) throw invalid("DeploymentStatus", "state", "state is required");
  return {
    state,
    description: optionalString(body, "description", "DeploymentStatus", 140),
    environment: optionalString(body, "environment", "DeploymentStatus"),
    target_url: optionalString(body, "target_url", "DeploymentStatus"),
    log_url: optionalString(body, "log_url", "DeploymentStatus"),
    environment_url: optionalString(body, "environment_url", "DeploymentStatus"),
    auto_inactive: optionalBoolean(body, "auto_inactive", "DeploymentStatus"),
  };
}

function filterDeployments(deployments: readonly Deployment[], query: URLSearchParams): Deployment[] {
  const filters = (["sha", "ref", "task", "environment"] as const).flatMap((field) => {
    const value = query.get(field);
    return value === null ? [] : [[field, value] as const];
  });
  return deployments
    .filter((deployment) => filters.every(([field, value]) => deployment[field] === value))
    .toReversed();
}

/** GitHub's `auto_inactive`: prior non-transient, non-production deployments to the same environment whose latest state is success. */
function autoInactiveTargets(model: DeploymentsModel, current: Deployment): Deployment[] {
  return model.deployments.filter(
    (prior) =>
      prior.id < current.id &&
      prior.environment === current.environment &&
      !prior.transient_environment &&
      !prior.production_environment &&
      model.latestStatus(prior.id)?.state === "success",
  );
}

function deleteDeployment(model: DeploymentsModel, deployment: Deployment): void {
  const alone = !model.deployments.some(
    (other) => other.id !== deployment.id && other.environment === deployment.environment,
  );
  if (!alone && model.latestStatus(deployment.id)?.state !== "inactive") {
    throw new GitHubApiError(
      422,
      "We cannot delete an active deployment unless it is the only deployment in a given environment.",
      {},
      true,
    );
  }
  model.deployments.splice(model.deployments.indexOf(deployment), 1);
}

// ---------------------------------------------------------------------------------------------------
// Model: check runs
// ---------------------------------------------------------------------------------------------------

const MAX_CHECK_TEXT = 65535;

function enableCheckRuns(
  host: ModelHost,
  owner: string,
  repo: string,
  options: CheckRunsOptions,
): CheckRunsModel {
  host.claim(`checkRuns(${owner}, ${repo})`);
  const base = repoPath(owner, repo);
  const model: CheckRunsModel = { owner, repo, checkRuns: [] };
  const expect = options.expect ?? {};
  const find = (request: StandInRequest): CheckRun => {
    const id = numericParam(request, "check_run_id");
    const run = model.checkRuns.find((candidate) => candidate.id === id);
    if (!run) throw notFound();
    return run;
  };
  host.route(
    "POST",
    `${base}/check-runs`,
    (request) => {
      const body = bodyObject(request, "CheckRun");
      const name = requiredString(body, "name", "CheckRun");
      const headSha = requiredString(body, "head_sha", "CheckRun");
      const id = host.nextId("checkRun");
      const run: CheckRun = {
        id,
        node_id: nodeId("CheckRun", id),
        name,
        head_sha: headSha,
        external_id: null,
        details_url: null,
        url: `${host.baseUrl}${base}/check-runs/${id}`,
        html_url: `https://github.com/${owner}/${repo}/runs/${id}`,
        status: "queued",
        conclusion: null,
        started_at: host.timestamp(),
        completed_at: null,
        output: { title: null, summary: null, text: null, annotations_count: 0 },
        app: host.app,
        check_suite: { id: host.nextId("checkSuite") },
        pull_requests: [],
      };
      Object.assign(run, checkRunChanges(body, run, host));
      model.checkRuns.push(run);
      return { status: 201, body: run };
    },
    expect.create,
  );
  host.route(
    "PATCH",
    `${base}/check-runs/:check_run_id`,
    (request) => {
      const run = find(request);
      const body = bodyObject(request, "CheckRun");
      const name = optionalString(body, "name", "CheckRun");
      Object.assign(run, checkRunChanges(body, run, host), name === undefined ? {} : { name });
      return { body: run };
    },
    expect.update,
  );
  host.route(
    "GET",
    `${base}/check-runs/:check_run_id`,
    (request) => ({ body: find(request) }),
    expect.get ?? { optional: true },
  );
  host.route(
    "GET",
    `${base}/commits/:ref/check-runs`,
    (request) => {
      const runs = filterCheckRuns(model.checkRuns, request.params["ref"]!, request.query);
      return paginate(request, host.baseUrl, runs, (page) => ({
        total_count: runs.length,
        check_runs: page,
      }));
    },
    expect.listForRef,
  );
  return model;
}

/** The fields a create or update request sets, validated as GitHub does before anything changes. */
function checkRunChanges(body: Record<string, unknown>, run: CheckRun, host: ModelHost): Partial<CheckRun> {
  const changes: Partial<CheckRun> = {};
  const detailsUrl = optionalString(body, "details_url", "CheckRun");
  const externalId = optionalString(body, "external_id", "CheckRun");
  const startedAt = optionalString(body, "started_at", "CheckRun");
  const completedAt = optionalString(body, "completed_at", "CheckRun");
  const status = optionalEnum(body, "status", CHECK_RUN_STATUSES, "CheckRun");
  const conclusion = optionalEnum(body, "conclusion", CHECK_RUN_CONCLUSIONS, "CheckRun");
  if (detailsUrl !== undefined) changes.details_url = detailsUrl;
  if (externalId !== undefined) changes.external_id = externalId;
  if (startedAt !== undefined) changes.started_at = startedAt;
  if (status !== undefined) changes.status = status;
  if (conclusion !== undefined) {
    changes.conclusion = conclusion;
    changes.status = "completed";
  }
  const completing = changes.status === "completed" || completedAt !== undefined;
  if (completing && (changes.conclusion ?? run.conclusion) === null) {
    throw invalid(
      "CheckRun",
      "conclusion",
      "conclusion is required when status is completed or completed_at is set",
    );
  }
  if (completing) changes.completed_at = completedAt ?? run.completed_at ?? host.timestamp();
  if (body["output"] !== undefined) changes.output = checkRunOutput(body["output"], run);
  return changes;
}

function checkRunOutput(value: unknown, run: CheckRun): CheckRun["output"] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("CheckRun", "output", "output must be an object");
  }
  const output = value as Record<string, unknown>;
  const annotations = output["annotations"];
  const summary = requiredString(output, "summary", "CheckRun");
  if (summary.length > MAX_CHECK_TEXT) {
    throw invalid("CheckRun", "summary", `summary is too long (maximum is ${MAX_CHECK_TEXT} characters)`);
  }
  return {
    title: requiredString(output, "title", "CheckRun"),
    summary,
    text: optionalString(output, "text", "CheckRun", MAX_CHECK_TEXT) ?? null,
    annotations_count: run.output.annotations_count + (Array.isArray(annotations) ? annotations.length : 0),
  };
}

function filterCheckRuns(runs: readonly CheckRun[], ref: string, query: URLSearchParams): CheckRun[] {
  const name = query.get("check_name");
  const status = query.get("status");
  const newestFirst = runs
    .filter((run) => run.head_sha === ref)
    .filter((run) => name === null || run.name === name)
    .filter((run) => status === null || run.status === status)
    .toReversed();
  if (query.get("filter") === "all") return newestFirst;
  // The default filter, "latest", keeps the most recent run of each name.
  return newestFirst.filter(
    (run, index) => newestFirst.findIndex((other) => other.name === run.name) === index,
  );
}

// ---------------------------------------------------------------------------------------------------
// Model: repository contents and git trees
// ---------------------------------------------------------------------------------------------------

/** A file as git stores it: its bytes (a link's target for mode 120000) and its mode. */
interface StoredFile {
  readonly bytes: Buffer;
  readonly mode: "100644" | "120000";
}

interface TreeNode {
  readonly files: Map<string, StoredFile>;
  readonly dirs: Map<string, TreeNode>;
}

function storedFile(file: RepoFile): StoredFile {
  if (typeof file === "string") return { bytes: Buffer.from(file, "utf8"), mode: "100644" };
  if (file instanceof Uint8Array) return { bytes: Buffer.from(file), mode: "100644" };
  return { bytes: Buffer.from(file.symlink, "utf8"), mode: "120000" };
}

function enableContents(
  host: ModelHost,
  owner: string,
  repo: string,
  files: Record<string, RepoFile>,
  ref: string,
  options: ContentsOptions,
): ContentsModel {
  const key = `${owner}/${repo}`;
  const model: ContentsModel = { owner, repo, ref: normalizeRef(ref), files: { ...files } };
  const existing = host.contentsByRepo.get(key);
  if (existing) {
    if (existing.has(model.ref)) throw new Error(`contents(${owner}, ${repo}) is already enabled at ${ref}`);
    existing.set(model.ref, model);
    return model;
  }
  const snapshots = new Map([[model.ref, model]]);
  // The first repository with contents brings the GraphQL endpoint (one per stand-in).
  if (host.contentsByRepo.size === 0) {
    host.route("POST", "/graphql", (request) => graphqlReply(host, request), { optional: true });
  }
  host.contentsByRepo.set(key, snapshots);
  const base = repoPath(owner, repo);
  const defaultBranch = options.defaultBranch ?? "main";
  host.route(
    "GET",
    `${base}/contents/:path*`,
    (request) => {
      const snapshot = snapshots.get(normalizeRef(request.query.get("ref") ?? defaultBranch));
      if (!snapshot) throw notFound();
      return contentReply(host, snapshot, request.params["path"]!, request.headers.accept);
    },
    options.expect?.get,
  );
  host.route(
    "GET",
    `${base}/git/trees/:tree_sha`,
    (request) => treeReply(host, base, [...snapshots.values()], request),
    options.expect?.tree,
  );
  host.route(
    "GET",
    `${base}/git/blobs/:file_sha`,
    (request) => blobReply(host, base, [...snapshots.values()], request),
    options.expect?.blob ?? { optional: true },
  );
  return model;
}

function normalizeRef(ref: string): string {
  return ref.replace(/^refs\/heads\//, "");
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, "");
}

function buildTree(files: Record<string, RepoFile>): TreeNode {
  const root: TreeNode = { files: new Map(), dirs: new Map() };
  for (const [path, content] of Object.entries(files)) {
    const parts = trimSlashes(path).split("/");
    const name = parts.pop()!;
    let node = root;
    for (const part of parts) {
      let child = node.dirs.get(part);
      if (!child) {
        child = { files: new Map(), dirs: new Map() };
        node.dirs.set(part, child);
      }
      node = child;
    }
    node.files.set(name, storedFile(content));
  }
  return root;
}

function findNode(root: TreeNode, path: string): TreeNode | undefined {
  let node: TreeNode | undefined = root;
  for (const part of path === "" ? [] : path.split("/")) node = node?.dirs.get(part);
  return node;
}

function findFile(root: TreeNode, path: string): StoredFile | undefined {
  const parts = path.split("/");
  return findNode(root, parts.slice(0, -1).join("/"))?.files.get(parts.at(-1)!);
}

/** Entries of a tree in git's order (a directory sorts as if its name ended in "/"). */
function treeEntries(node: TreeNode): Array<{ name: string; dir?: TreeNode; file?: StoredFile }> {
  const entries = [
    ...[...node.files].map(([name, file]) => ({ name, file, sortKey: name })),
    ...[...node.dirs].map(([name, dir]) => ({ name, dir, sortKey: `${name}/` })),
  ];
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.sortKey), Buffer.from(b.sortKey)));
}

/** Git's object id of a tree, as git computes it. */
function treeSha(node: TreeNode): string {
  const body = Buffer.concat(
    treeEntries(node).map((entry) =>
      Buffer.concat([
        Buffer.from(`${entry.dir ? "40000" : entry.file!.mode} ${entry.name}\0`),
        Buffer.from(entry.dir ? treeSha(entry.dir) : blobSha(entry.file!.bytes), "hex"),
      ]),
    ),
  );
  return sha1(Buffer.concat([Buffer.from(`tree ${body.length}\0`), body]));
}

/** A symbolic link's target as git resolves it: relative to the link's directory, inside the repository. */
function linkTarget(path: string, file: StoredFile): string | undefined {
  const target = file.bytes.toString("utf8");
  if (target.startsWith("/")) return undefined;
  const parts: string[] = [];
  for (const part of [...path.split("/").slice(0, -1), ...target.split("/")]) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}

function contentEntry(
  host: ModelHost,
  snapshot: ContentsModel,
  path: string,
  entry: { dir?: TreeNode; file?: StoredFile },
) {
  const base = `${host.baseUrl}${repoPath(snapshot.owner, snapshot.repo)}`;
  const sha = entry.dir ? treeSha(entry.dir) : blobSha(entry.file!.bytes);
  const url = `${base}/contents/${path.split("/").map(encodeURIComponent).join("/")}?ref=${encodeURIComponent(snapshot.ref)}`;
  const gitUrl = `${base}/git/${entry.dir ? "trees" : "blobs"}/${sha}`;
  const htmlUrl = `https://github.com/${snapshot.owner}/${snapshot.repo}/${entry.dir ? "tree" : "blob"}/${snapshot.ref}/${path}`;
  const type = entry.dir
    ? ("dir" as const)
    : entry.file!.mode === "120000"
      ? ("symlink" as const)
      : ("file" as const);
  return {
    type,
    name: path.split("/").pop()!,
    path,
    sha,
    size: entry.dir ? 0 : entry.file!.bytes.length,
    url,
    git_url: gitUrl,
    html_url: htmlUrl,
    download_url: entry.dir
      ? null
      : `https://raw.githubusercontent.com/${snapshot.owner}/${snapshot.repo}/${snapshot.ref}/${path}`,
    _links: { self: url, git: gitUrl, html: htmlUrl },
  };
}

/** The raw media type: the bytes, labelled as text as GitHub labels them. */
function rawReply(bytes: Buffer): StandInReply {
  return { body: bytes, headers: { "content-type": "text/plain; charset=utf-8" } };
}

/** Base64 as GitHub sends it: 60-column lines, each ending in a newline. */
function wrappedBase64(bytes: Buffer): string {
  const lines = bytes.toString("base64").match(/.{1,60}/g) ?? [];
  return lines.map((l) => `${l}\n`).join("");
}

function contentReply(
  host: ModelHost,
  snapshot: ContentsModel,
  rawPath: string,
  accept: string | undefined,
): StandInReply {
  let path = trimSlashes(rawPath);
  const root = buildTree(snapshot.files);
  let file = findFile(root, path);
  if (file?.mode === "120000") {
    // A link to a normal file answers as that file; any other link describes itself.
    const target = linkTarget(path, file);
    const resolved = target === undefined ? undefined : findFile(root, target);
    if (target !== undefined && resolved?.mode === "100644") {
      path = target;
      file = resolved;
    } else {
      if ((accept ?? "").includes("raw")) return rawReply(file.bytes);
      return {
        body: {
          ...contentEntry(host, snapshot, path, { file }),
          target: file.bytes.toString("utf8"),
        },
      };
    }
  }
  if (file !== undefined) {
    if ((accept ?? "").includes("raw")) return rawReply(file.bytes);
    return {
      body: {
        ...contentEntry(host, snapshot, path, { file }),
        encoding: "base64",
        content: wrappedBase64(file.bytes),
      },
    };
  }
  const dir = findNode(root, path);
  if (!dir) throw notFound();
  return {
    body: treeEntries(dir).map((entry) =>
      contentEntry(host, snapshot, path === "" ? entry.name : `${path}/${entry.name}`, entry),
    ),
  };
}

function treeReply(
  host: ModelHost,
  base: string,
  snapshots: readonly ContentsModel[],
  request: StandInRequest,
): StandInReply {
  const wanted = request.params["tree_sha"]!;
  const node = findTreeNode(snapshots, wanted);
  if (!node) throw notFound();
  const recursive = request.query.has("recursive");
  const tree: unknown[] = [];
  const walk = (current: TreeNode, prefix: string): void => {
    for (const entry of treeEntries(current)) {
      const path = `${prefix}${entry.name}`;
      if (entry.dir) {
        const sha = treeSha(entry.dir);
        tree.push({
          path,
          mode: "040000",
          type: "tree",
          sha,
          url: `${host.baseUrl}${base}/git/trees/${sha}`,
        });
        if (recursive) walk(entry.dir, `${path}/`);
      } else {
        const sha = blobSha(entry.file!.bytes);
        tree.push({
          path,
          mode: entry.file!.mode,
          type: "blob",
          sha,
          size: entry.file!.bytes.length,
          url: `${host.baseUrl}${base}/git/blobs/${sha}`,
        });
      }
    }
  };
  walk(node, "");
  const sha = treeSha(node);
  return { body: { sha, url: `${host.baseUrl}${base}/git/trees/${sha}`, tree, truncated: false } };
}

/** Every blob of the served refs, by its object id. */
function blobsById(snapshots: readonly ContentsModel[]): Map<string, Buffer> {
  const blobs = new Map<string, Buffer>();
  for (const snapshot of snapshots) {
    const pending = [buildTree(snapshot.files)];
    for (let node = pending.pop(); node; node = pending.pop()) {
      for (const file of node.files.values()) blobs.set(blobSha(file.bytes), file.bytes);
      pending.push(...node.dirs.values());
    }
  }
  return blobs;
}

/** GET …/git/blobs/:sha: any blob of a served ref, by its object id. */
function blobReply(
  host: ModelHost,
  base: string,
  snapshots: readonly ContentsModel[],
  request: StandInRequest,
): StandInReply {
  const wanted = request.params["file_sha"]!;
  const bytes = blobsById(snapshots).get(wanted);
  if (!bytes) throw notFound();
  if ((request.headers.accept ?? "").includes("raw")) return rawReply(bytes);
  return {
    body: {
      sha: wanted,
      node_id: `B_${Buffer.from(wanted).toString("base64url").slice(0, 20)}`,
      size: bytes.length,
      url: `${host.baseUrl}${base}/git/blobs/${wanted}`,
      content: wrappedBase64(bytes),
      encoding: "base64",
    },
  };
}

/**
 * POST /graphql, for the one query shape prenv sends (src/adapters/github/tree.ts): blobs of a
 * repository by object id, each under an alias, `repository(owner: $owner, name: $name) { b0:
 * object(oid: $b0) { ... on Blob { text isBinary isTruncated } } … }`. As GitHub answers: `text`
 * null and `isBinary` true for bytes that are not UTF-8 text, a null object for an unknown id, a
 * NOT_FOUND error for an unknown repository. Any other query is answered with an error.
 */
function graphqlReply(host: ModelHost, request: StandInRequest): StandInReply {
  const { query, variables = {} } = (request.body ?? {}) as {
    query?: unknown;
    variables?: Record<string, unknown>;
  };
  const repo = typeof query === "string" ? /repository\(owner: \$(\w+), name: \$(\w+)\)/.exec(query) : null;
  if (typeof query !== "string" || !repo) {
    return { body: { errors: [{ message: "The stand-in answers only prenv's blob query." }] } };
  }
  const owner = String(variables[repo[1]!]);
  const name = String(variables[repo[2]!]);
  const snapshots = host.contentsByRepo.get(`${owner}/${name}`);
  if (!snapshots) {
    return {
      body: {
        data: { repository: null },
        errors: [
          {
            type: "NOT_FOUND",
            path: ["repository"],
            message: `Could not resolve to a Repository with the name '${owner}/${name}'.`,
          },
        ],
      },
    };
  }
  const objects: Record<string, unknown> = {};
  const blobs = blobsById([...snapshots.values()]);
  for (const m of query.matchAll(/(\w+): object\(oid: \$(\w+)\)/g)) {
    const bytes = blobs.get(String(variables[m[2]!]));
    objects[m[1]!] = bytes ? blobNode(bytes) : null;
  }
  return { body: { data: { repository: objects } } };
}

function blobNode(bytes: Buffer): { text: string | null; isBinary: boolean; isTruncated: boolean } {
  let text: string | null;
  try {
    text = bytes.includes(0) ? null : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  return { text, isBinary: text === null, isTruncated: false };
}

/** A ref served by a snapshot, or the sha of a snapshot's root tree or of one of its subtrees. */
function findTreeNode(snapshots: readonly ContentsModel[], wanted: string): TreeNode | undefined {
  for (const snapshot of snapshots) {
    const root = buildTree(snapshot.files);
    if (snapshot.ref === normalizeRef(wanted)) return root;
    const pending = [root];
    for (let node = pending.pop(); node; node = pending.pop()) {
      if (treeSha(node) === wanted) return node;
      pending.push(...node.dirs.values());
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Model: pull request and its files
// ---------------------------------------------------------------------------------------------------

function enablePullRequest<T extends PullRequestLike>(
  host: ModelHost,
  pr: T,
  options: PullRequestOptions,
): PullRequestModel<T> {
  const owner = pr.base.repo.owner.login;
  const repo = pr.base.repo.name;
  host.claim(`pullRequest(${owner}/${repo}#${pr.number})`);
  const model: PullRequestModel<T> = { pr, files: [...(options.files ?? [])] };
  const path = `${repoPath(owner, repo)}/pulls/${pr.number}`;
  host.route("GET", path, () => ({ body: model.pr }), options.expect?.get);
  host.route(
    "GET",
    `${path}/files`,
    (request) =>
      paginate(
        request,
        host.baseUrl,
        model.files.map((file) =>
          pullRequestFile(
            owner,
            repo,
            typeof file === "string" ? { filename: file, status: "modified" } : file,
          ),
        ),
      ),
    options.expect?.files,
  );
  return model;
}

function pullRequestFile(owner: string, repo: string, file: PullRequestFile) {
  const sha = sha1(`file:${file.filename}`);
  const additions = file.additions ?? 0;
  const deletions = file.deletions ?? 0;
  return {
    sha,
    filename: file.filename,
    status: file.status,
    additions,
    deletions,
    changes: additions + deletions,
    blob_url: `https://github.com/${owner}/${repo}/blob/${sha}/${file.filename}`,
    raw_url: `https://github.com/${owner}/${repo}/raw/${sha}/${file.filename}`,
    contents_url: `https://api.github.com/repos/${owner}/${repo}/contents/${file.filename}?ref=${sha}`,
    ...(file.previous_filename === undefined ? {} : { previous_filename: file.previous_filename }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Model: collaborator permission
// ---------------------------------------------------------------------------------------------------

/** GitHub's legacy `permission` field only knows admin, write, read and none. */
const LEGACY_PERMISSION: Record<RepositoryRole, "admin" | "write" | "read" | "none"> = {
  admin: "admin",
  maintain: "write",
  write: "write",
  triage: "read",
  read: "read",
  none: "none",
};

function enableCollaboratorPermission(
  host: ModelHost,
  owner: string,
  repo: string,
  perms: Record<string, RepositoryRole>,
  options: CollaboratorPermissionOptions,
): CollaboratorPermissionModel {
  host.claim(`collaboratorPermission(${owner}, ${repo})`);
  const model: CollaboratorPermissionModel = { perms: { ...perms } };
  host.collaborators.set(`${owner}/${repo}`, model.perms);
  host.route(
    "GET",
    `${repoPath(owner, repo)}/collaborators/:username/permission`,
    (request) => {
      const wanted = request.params["username"]!.toLowerCase();
      const login = Object.keys(model.perms).find((candidate) => candidate.toLowerCase() === wanted);
      if (login === undefined) throw notFound();
      const role = model.perms[login]!;
      const rank = ["none", "read", "triage", "write", "maintain", "admin"].indexOf(role);
      return {
        body: {
          permission: LEGACY_PERMISSION[role],
          role_name: role,
          user: {
            login,
            id: host.nextId("user"),
            type: "User",
            role_name: role,
            permissions: {
              admin: rank >= 5,
              maintain: rank >= 4,
              push: rank >= 3,
              triage: rank >= 2,
              pull: rank >= 1,
            },
          },
        },
      };
    },
    options.expect,
  );
  return model;
}

// ---------------------------------------------------------------------------------------------------
// Model: Probot's config file
// ---------------------------------------------------------------------------------------------------

function enableConfigFile(
  host: ModelHost,
  owner: string,
  repo: string,
  text: string | null,
  options: ConfigFileOptions,
): ConfigFileModel {
  host.claim(`configFile(${owner}, ${repo})`);
  const path = options.path ?? ".github/prenv.yml";
  const defaultBranch = options.defaultBranch ?? "main";
  const model: ConfigFileModel = { text, orgText: options.orgText ?? null };
  // @probot/octokit-plugin-config expands `{path}` in /repos/{owner}/{repo}/contents/{path}, so the
  // slash travels encoded as %2F; it sends no `ref` (Probot reads config from the default branch
  // only) and asks for `application/vnd.github.v3.raw`.
  const configPath = (repository: string) =>
    `${repoPath(owner, repository)}/contents/${encodeURIComponent(path)}`;
  const answer = (repository: string, yaml: string | null) => (request: StandInRequest) => {
    const ref = request.query.get("ref");
    if (yaml === null || (ref !== null && normalizeRef(ref) !== defaultBranch)) throw notFound();
    const snapshot: ContentsModel = { owner, repo: repository, ref: defaultBranch, files: { [path]: yaml } };
    return contentReply(host, snapshot, path, request.headers.accept);
  };
  host.route("GET", configPath(repo), (request) => answer(repo, model.text)(request), options.expect?.repo);
  if (repo !== ".github") {
    host.route(
      "GET",
      configPath(".github"),
      (request) => answer(".github", model.orgText)(request),
      options.expect?.org ?? { optional: true },
    );
  }
  return model;
}
