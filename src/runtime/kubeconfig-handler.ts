// The kubeconfig endpoint as a plain function of (method, path, query, headers), shared by the
// Lambda route and the local server: `GET /api/kubeconfig/<owner>/<repo>/<number>[?ttl=2h]` with
// a user access token of prenv's GitHub App in `Authorization`. Answers a kubeconfig (200) or one
// line saying why not; never caches, never logs the caller's token or the issued one.
// `GET /api/kubeconfig/login` tells the CLI whose device flow to run: the App's client id (public)
// and GitHub's web host.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LoginInfo } from "../access/device-flow.js";
import { KUBECONFIG_ROUTE, LOGIN_PATH } from "../report/instructions.js";
import { issueKubeconfig, type AccessDeps } from "../access/issue.js";

export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const NO_STORE = { "cache-control": "no-store", "x-content-type-options": "nosniff" };

function text(statusCode: number, code: string, message: string): HttpResponse {
  return {
    statusCode,
    headers: { ...NO_STORE, "content-type": "text/plain; charset=utf-8", "x-prenv-error": code },
    body: `prenv: ${message}\n`,
  };
}

/** The caller's GitHub token from `Authorization: Bearer <t>` (or `token <t>`), else null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^(?:bearer|token)\s+([\x21-\x7e]{1,512})$/i.exec(header?.trim() ?? "");
  return match ? match[1]! : null;
}

export function createKubeconfigHandler(
  deps: () => Promise<AccessDeps>,
  login: () => Promise<LoginInfo> = () => Promise.reject(new Error("no GitHub App client id")),
) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    if (!req.path.startsWith(KUBECONFIG_ROUTE)) return text(404, "NOT_FOUND", "no such endpoint");
    if (req.method !== "GET") {
      const r = text(405, "METHOD", "use GET");
      return { ...r, headers: { ...r.headers, allow: "GET" } };
    }
    if (req.path === LOGIN_PATH) return loginAnswer(login);
    const parts = req.path.slice(KUBECONFIG_ROUTE.length).split("/").map(safeDecode);
    if (parts.length !== 3 || parts.some((p) => p === null || p === "")) {
      return text(400, "BAD_REQUEST", `use ${KUBECONFIG_ROUTE}<owner>/<repo>/<pull request number>`);
    }
    const [owner, repo, number] = parts as string[];
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
    let ready: AccessDeps;
    try {
      ready = await deps();
    } catch {
      return text(
        503,
        "UNAVAILABLE",
        "prenv cannot issue kubeconfigs right now (it is not set up, or cannot reach its cluster); try again later, or tell the prenv operators.",
      );
    }
    const result = await issueKubeconfig(
      {
        githubToken: bearerToken(headers.authorization),
        owner: owner!,
        repo: repo!,
        number: number!,
        ttl: req.query.get("ttl"),
      },
      ready,
    );
    if (!result.ok) {
      const r = text(result.status, result.code, result.message);
      return result.status === 401 ? { ...r, headers: { ...r.headers, "www-authenticate": "Bearer" } } : r;
    }
    return {
      statusCode: 200,
      headers: {
        ...NO_STORE,
        "content-type": "application/yaml; charset=utf-8",
        "x-prenv-expires-at": result.expiresAt.toISOString(),
      },
      body: result.kubeconfig,
    };
  };
}

async function loginAnswer(login: () => Promise<LoginInfo>): Promise<HttpResponse> {
  let info: LoginInfo;
  try {
    info = await login();
  } catch {
    return text(
      503,
      "UNAVAILABLE",
      "prenv cannot sign anyone in right now (its GitHub App client id is not configured); tell the prenv operators.",
    );
  }
  return {
    statusCode: 200,
    headers: { ...NO_STORE, "content-type": "application/json" },
    body: JSON.stringify({ client_id: info.clientId, github_url: info.githubUrl }),
  };
}

function safeDecode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** The same endpoint as a handler for Node's HTTP server (Probot's `addHandler`); false: not ours. */
export function nodeKubeconfigHandler(handle: (req: HttpRequest) => Promise<HttpResponse>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith(KUBECONFIG_ROUTE)) return false;
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0] : v;
    const answer = await handle({
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers,
    });
    res.writeHead(answer.statusCode, answer.headers).end(answer.body);
    return true;
  };
}
