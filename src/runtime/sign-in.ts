// The CLI's sign-in: a user access token of prenv's GitHub App, from GitHub's device flow (the
// App's client id and GitHub's web host come from prenv's endpoint). Nothing is written to disk
// unless the user asks for a token cache (--token-cache FILE, mode 0600), which holds the token and
// its expiry only (never a refresh token: refreshing needs the App's client secret).
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { deviceFlowToken, type LoginInfo, type UserToken } from "../access/device-flow.js";
import { LOGIN_PATH } from "../report/instructions.js";

export interface SignInOptions {
  /** prenv's URL, e.g. https://prenv.example.com. */
  url: string;
  tokenCache: string | null;
  /** Where the instructions go (stderr: stdout may be the kubeconfig or the token). */
  say: (line: string) => void;
}

/** A cached token is used only with this much life left. */
const CACHE_MARGIN_MS = 5 * 60_000;

interface CachedToken {
  url: string;
  token: string;
  expires_at: string | null;
}

/** A token from the cache (if asked for and still good), else from a new device flow. */
export async function signIn(o: SignInOptions): Promise<{ token: string; cached: boolean }> {
  const cached = o.tokenCache ? readCache(o.tokenCache, o.url) : null;
  if (cached) return { token: cached, cached: true };
  const login = await loginInfo(o.url);
  const fresh = await deviceFlowToken(login, {
    post: postForm,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
    prompt: (uri, code, seconds) =>
      o.say(
        `To sign in to prenv with GitHub, open ${uri} and enter the code ${code} (valid ${Math.round(seconds / 60)} minutes).`,
      ),
  });
  if (o.tokenCache) writeCache(o.tokenCache, o.url, fresh);
  return { token: fresh.token, cached: false };
}

/** Drops a cached token GitHub or prenv no longer accepts. */
export function forgetToken(tokenCache: string): void {
  rmSync(tokenCache, { force: true });
}

async function loginInfo(url: string): Promise<LoginInfo> {
  const res = await fetch(`${url}${LOGIN_PATH}`, { headers: { accept: "application/json" } });
  const text = await res.text();
  if (!res.ok) throw new Error(text.replace(/^prenv: /, "").trim() || `HTTP ${res.status} from ${url}`);
  let body: { client_id?: unknown; github_url?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`${url} is not a prenv endpoint (no sign-in parameters at ${LOGIN_PATH})`);
  }
  if (
    typeof body.client_id !== "string" ||
    typeof body.github_url !== "string" ||
    !/^https?:\/\//.test(body.github_url)
  ) {
    throw new Error(`${url} answered no usable sign-in parameters at ${LOGIN_PATH}`);
  }
  return { clientId: body.client_id, githubUrl: body.github_url };
}

async function postForm(
  url: string,
  form: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: null };
  }
}

function readCache(path: string, url: string): string | null {
  let cached: Partial<CachedToken>;
  try {
    cached = JSON.parse(readFileSync(path, "utf8")) as Partial<CachedToken>;
  } catch {
    return null;
  }
  if (cached.url !== url || typeof cached.token !== "string" || cached.token === "") return null;
  if (cached.expires_at && Date.parse(cached.expires_at) - Date.now() < CACHE_MARGIN_MS) return null;
  return cached.token;
}

function writeCache(path: string, url: string, token: UserToken): void {
  const entry: CachedToken = { url, token: token.token, expires_at: token.expiresAt?.toISOString() ?? null };
  writeFileSync(path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}
