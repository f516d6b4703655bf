// Self-service kubeconfigs. A developer asks with a user access token of prenv's own GitHub App
// (from the App's device flow; any other GitHub token is refused, first thing, by GitHub's
// check-a-token API); prenv checks that they may write to the repository, then hands out a
// kubeconfig with a short-lived token for that one pull request's environment. Nothing here ever
// goes into a PR comment, and the token is never logged: the log line says who got access to what,
// until when.
import { stringify } from "yaml";
import { DurationError, parseDuration } from "../config/duration.js";
import { locateEnvironment } from "../environment/locate.js";
import type {
  AccessVia,
  Clock,
  ClusterPort,
  IssuedAccess,
  Isolation,
  Logger,
  PullRequest,
  RepoRole,
} from "../environment/ports.js";
import { WRITE_ROLES } from "../environment/ports.js";
import { isoSeconds } from "../report/time.js";
import type { AccessSettings } from "../environment/settings.js";
import { readRecord, type EnvironmentView } from "../environment/record.js";
import { isPrenvError } from "../errors.js";
import { MIN_TOKEN_MS } from "./limits.js";

/** GitHub owner and repository names. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface AccessRequest {
  /** The caller's GitHub token: only a user access token of prenv's own GitHub App passes. Never logged. */
  githubToken: string | null;
  owner: string;
  repo: string;
  number: string;
  /** Requested lifetime, e.g. `30m` or `2h`; null for the operator's default. */
  ttl: string | null;
}

/**
 * GitHub as the kubeconfig endpoint needs it: the App's OAuth client credentials and the caller's
 * own token, never the App's private key.
 */
export interface AccessGitHub {
  /**
   * The login behind a user access token of prenv's own GitHub App (GitHub's check-a-token API,
   * authenticated with the App's client id and secret), or null for any other token.
   */
  userOf(token: string): Promise<string | null>;
  /**
   * The repository and the pull request as that token sees them. GitHub shows a user's token of a
   * GitHub App only private repositories where both the user and the App have access, so "not
   * installed", "no access" and "does not exist" are one answer (role "none") at the same cost.
   */
  asUser(
    token: string,
    target: { owner: string; repo: string; number: number },
  ): {
    role(): Promise<RepoRole>;
    getPull(): Promise<PullRequest | null>;
  };
}

export interface AccessDeps {
  github: AccessGitHub;
  cluster: Pick<ClusterPort, "readEnvironment" | "issueAccess">;
  clock: Clock;
  log: Logger;
  settings: { namespacePrefix: string; access: AccessSettings };
}

export type RefusalCode =
  | "BAD_REQUEST"
  | "UNAUTHENTICATED"
  | "NOT_INSTALLED"
  | "FORBIDDEN"
  | "NO_PULL_REQUEST"
  | "PR_CLOSED"
  | "NO_ENVIRONMENT"
  | "NOT_READY"
  | "EXPIRED"
  | "UNAVAILABLE";

const STATUS: Record<RefusalCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_INSTALLED: 404,
  NO_PULL_REQUEST: 404,
  NO_ENVIRONMENT: 404,
  NOT_READY: 409,
  PR_CLOSED: 410,
  EXPIRED: 410,
  UNAVAILABLE: 503,
};

export type AccessResult =
  | { ok: true; kubeconfig: string; expiresAt: Date; namespace: string; user: string }
  | { ok: false; status: number; code: RefusalCode; message: string };

class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

function refuse(code: RefusalCode, message: string): never {
  throw new Refusal(code, message);
}

/** Checks the caller and the environment, then issues a kubeconfig; every refusal says why. */
export async function issueKubeconfig(req: AccessRequest, deps: AccessDeps): Promise<AccessResult> {
  const where = { repo: `${req.owner}/${req.repo}`.slice(0, 201), pr: req.number.slice(0, 12) };
  let user: string | undefined;
  try {
    const target = parseTarget(req);
    const wantedMs = requestedLifetime(req.ttl, deps.settings.access);
    if (!req.githubToken) {
      refuse(
        "UNAUTHENTICATED",
        `Send a GitHub token of prenv's GitHub App as 'Authorization: Bearer <token>' (npx prenv token prints one).`,
      );
    }
    const token = req.githubToken;
    user = (await deps.github.userOf(token)) ?? undefined;
    if (!user) {
      refuse(
        "UNAUTHENTICATED",
        "GitHub did not confirm this as a token of prenv's GitHub App (other GitHub tokens are not accepted); sign in again with npx prenv kubeconfig or npx prenv token.",
      );
    }
    const granted = await grant({ target, user, token, wantedMs }, deps);
    deps.log.info(
      {
        user,
        ...where,
        namespace: granted.namespace,
        isolation: granted.isolation,
        subject: granted.access.subject,
        expiresAt: granted.access.expiresAt.toISOString(),
      },
      "kubeconfig issued",
    );
    return {
      ok: true,
      kubeconfig: renderKubeconfig(granted.access, contextName(target)),
      expiresAt: granted.access.expiresAt,
      namespace: granted.namespace,
      user,
    };
  } catch (caught) {
    let err = caught;
    if (isPrenvError(err) && err.code === "VCLUSTER_NOT_READY") err = new Refusal("NOT_READY", err.message);
    if (err instanceof Refusal) {
      deps.log.info({ user: user ?? null, ...where, code: err.code }, "kubeconfig refused");
      return { ok: false, status: STATUS[err.code], code: err.code, message: err.message };
    }
    deps.log.error(
      { user: user ?? null, ...where, code: isPrenvError(err) ? err.code : "UNEXPECTED" },
      "kubeconfig failed",
    );
    return {
      ok: false,
      status: 503,
      code: "UNAVAILABLE",
      message:
        "prenv could not issue a kubeconfig right now; try again in a minute, or tell the prenv operators.",
    };
  }
}

interface Target {
  owner: string;
  repo: string;
  number: number;
}

function parseTarget(req: AccessRequest): Target {
  if (!NAME_RE.test(req.owner) || !NAME_RE.test(req.repo)) {
    refuse("BAD_REQUEST", "Name the pull request as owner/repo#number, e.g. acme/web#12.");
  }
  const number = /^[1-9][0-9]{0,9}$/.test(req.number) ? Number(req.number) : NaN;
  if (!Number.isSafeInteger(number)) {
    refuse("BAD_REQUEST", "The pull request number must be a positive whole number, e.g. acme/web#12.");
  }
  return { owner: req.owner, repo: req.repo, number };
}

function requestedLifetime(ttl: string | null, settings: AccessSettings): number {
  if (ttl === null || ttl === "") return settings.defaultTtlMs;
  let ms: number;
  try {
    ms = parseDuration(ttl);
  } catch (err) {
    if (err instanceof DurationError) refuse("BAD_REQUEST", `ttl: ${err.message}`);
    throw err;
  }
  if (ms < MIN_TOKEN_MS) refuse("BAD_REQUEST", "ttl must be at least 10m (Kubernetes' shortest token).");
  return Math.min(ms, settings.maxTtlMs);
}

/** Who asks for what: the pull request, the GitHub user and their token, and the lifetime asked. */
interface Ask {
  target: Target;
  user: string;
  token: string;
  wantedMs: number;
}

async function grant(
  ask: Ask,
  deps: AccessDeps,
): Promise<{ namespace: string; isolation: Isolation; access: IssuedAccess }> {
  const { target, user, token, wantedMs } = ask;
  const repository = `${target.owner}/${target.repo}`;
  // The same answer, after the same GitHub calls, for "not installed" and "no access at all", so
  // that nobody learns from it that a private repository exists or uses prenv.
  const unknown = `${repository}: the repository does not exist, prenv is not installed there, or ${user} has no access to it.`;
  const github = deps.github.asUser(token, target);
  // Who may have access is decided before anything about the pull request is revealed.
  const role = await github.role();
  if (role === "none") refuse("NOT_INSTALLED", unknown);
  if (!WRITE_ROLES.has(role)) {
    refuse(
      "FORBIDDEN",
      `${user} has ${role} access to ${repository}; a kubeconfig needs write, maintain or admin.`,
    );
  }
  const pr = await github.getPull();
  if (!pr) refuse("NO_PULL_REQUEST", `${repository}#${target.number} does not exist.`);
  if (pr.state === "closed") {
    refuse(
      "PR_CLOSED",
      `${repository}#${target.number} is ${pr.merged ? "merged" : "closed"}; its environment is gone.`,
    );
  }
  // Only a namespace that records this repository's id and this PR (never one that merely has
  // the name) is this pull request's environment.
  const { namespace, env } = await locateEnvironment(
    deps.cluster,
    { ...target, repoId: pr.repoId },
    deps.settings.namespacePrefix,
    deps.log,
  );
  const view = env && env.phase === "Active" ? readRecord(env) : null;
  const lifetimeMs = usableLifetime(view, `${repository}#${target.number}`, wantedMs, deps.clock);
  const via = accessVia(view, `${repository}#${target.number}`);
  const access = await deps.cluster.issueAccess(namespace, via, Math.floor(lifetimeMs / 1000));
  return { namespace, isolation: via.isolation, access };
}

/** What the environment was built as, from its namespace (the source of truth). */
function accessVia(view: EnvironmentView | null, pr: string): AccessVia {
  if (view?.builtAs !== "vcluster") return { isolation: "namespace" };
  if (!view.apiHost)
    refuse(
      "NOT_READY",
      `The virtual cluster of ${pr} has not been set up yet; ask again once it is deployed.`,
    );
  return { isolation: "vcluster", apiHost: view.apiHost };
}

/** How long a token may live: what was asked, but never past the environment's expiry. */
function usableLifetime(view: EnvironmentView | null, pr: string, wantedMs: number, clock: Clock): number {
  if (!view) {
    refuse("NO_ENVIRONMENT", `${pr} has no environment right now; a push or /env redeploy creates one.`);
  }
  if (view.queued) refuse("NOT_READY", `${pr} is queued for an environment; ask again once it is deployed.`);
  const left = (view.expiresAt?.getTime() ?? NaN) - clock.now().getTime();
  if (Number.isNaN(left) || left <= 0) {
    refuse("EXPIRED", `The environment of ${pr} has expired; a new push brings it back.`);
  }
  if (left < MIN_TOKEN_MS) {
    refuse("EXPIRED", `The environment of ${pr} expires in less than 10 minutes; comment /env extend first.`);
  }
  return Math.min(wantedMs, left);
}

function contextName(t: Target): string {
  return `prenv-${t.owner}-${t.repo}-${t.number}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
}

/** A kubeconfig with one cluster, one user (the token) and one context. */
export function renderKubeconfig(access: IssuedAccess, name: string): string {
  const cluster: Record<string, string> = { server: access.server };
  if (access.certificateAuthorityData)
    cluster["certificate-authority-data"] = access.certificateAuthorityData;
  const expires = isoSeconds(access.expiresAt);
  return [
    `# prenv kubeconfig for ${name}: ${access.subject}, valid until ${expires}.`,
    "# Ask again for a new one; the environment's deletion revokes it.",
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name, cluster }],
      users: [{ name, user: { token: access.token } }],
      contexts: [{ name, context: { cluster: name, user: name, namespace: access.namespace } }],
      "current-context": name,
    }),
  ].join("\n");
}
