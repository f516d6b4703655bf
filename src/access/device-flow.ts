// Signing in to prenv's GitHub App from a terminal: GitHub's OAuth device flow for GitHub Apps.
// The CLI asks GitHub for a device code, shows the user where to enter the code, and polls until the
// user has authorized the App, honouring GitHub's `interval` and its `slow_down` answers. The result
// is a user access token of prenv's own App (ghu_…), the only kind the kubeconfig endpoint accepts.
// I/O comes in through `deps`, so the flow runs against GitHub's stand-in with an injected clock.

/** What prenv's endpoint tells its CLI (GET /api/kubeconfig/login): whose device flow to run, where. */
export interface LoginInfo {
  /** The GitHub App's client id (public). */
  clientId: string;
  /** GitHub's web host, e.g. https://github.com (GitHub Enterprise Server: https://ghe.example.com). */
  githubUrl: string;
}

export interface DeviceFlowDeps {
  /** POST a form to GitHub; answers the status and the parsed JSON body (null if it is not JSON). */
  post(url: string, form: Record<string, string>): Promise<{ status: number; body: unknown }>;
  sleep(ms: number): Promise<void>;
  /** Epoch ms. */
  now(): number;
  /** Tells the user to open `verificationUri` and enter `userCode`. */
  prompt(verificationUri: string, userCode: string, expiresInSeconds: number): void;
}

export interface UserToken {
  token: string;
  /** When GitHub says it expires (GitHub Apps' user tokens: 8 h by default); null: no expiry. */
  expiresAt: Date | null;
}

export class DeviceFlowError extends Error {
  override readonly name = "DeviceFlowError";
}

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** RFC 8628 and GitHub: without an `interval`, wait 5 s; after `slow_down`, 5 s more. */
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_S = 5;

const WHY: Record<string, string> = {
  device_flow_disabled:
    "prenv's GitHub App does not allow signing in from a terminal yet: its owner must tick \"Enable Device Flow\" in the App's settings",
  incorrect_client_credentials:
    "GitHub does not know prenv's client id; tell the prenv operators (GITHUB_CLIENT_ID)",
  expired_token: "the code expired before it was entered on GitHub; run the command again",
  access_denied: "the sign-in was cancelled on GitHub",
  incorrect_device_code: "GitHub refused the device code; run the command again",
  unsupported_grant_type: "GitHub refused the device flow request",
};

/** Runs the device flow to its end: a user access token of the App, or a DeviceFlowError saying why not. */
export async function deviceFlowToken(login: LoginInfo, deps: DeviceFlowDeps): Promise<UserToken> {
  const base = login.githubUrl.replace(/\/+$/, "");
  const started = await deps.post(`${base}/login/device/code`, { client_id: login.clientId });
  const code = record(started.body);
  failOnError(code, started.status, "asking GitHub for a sign-in code");
  const deviceCode = text(code.device_code);
  const userCode = text(code.user_code);
  const verificationUri = text(code.verification_uri);
  if (!deviceCode || !userCode || !verificationUri) {
    throw new DeviceFlowError(`GitHub answered HTTP ${started.status} without a sign-in code`);
  }
  const expiresIn = positive(code.expires_in) ?? 900;
  let interval = positive(code.interval) ?? DEFAULT_INTERVAL_S;
  const deadline = deps.now() + expiresIn * 1000;
  deps.prompt(verificationUri, userCode, expiresIn);
  for (;;) {
    await deps.sleep(interval * 1000);
    if (deps.now() >= deadline) throw new DeviceFlowError(WHY.expired_token);
    const polled = await deps.post(`${base}/login/oauth/access_token`, {
      client_id: login.clientId,
      device_code: deviceCode,
      grant_type: DEVICE_GRANT,
    });
    const answer = record(polled.body);
    const token = text(answer.access_token);
    if (token) {
      const lifetime = positive(answer.expires_in);
      return { token, expiresAt: lifetime === null ? null : new Date(deps.now() + lifetime * 1000) };
    }
    const error = text(answer.error);
    if (error === "authorization_pending") continue;
    if (error === "slow_down") {
      interval = positive(answer.interval) ?? interval + SLOW_DOWN_S;
      continue;
    }
    failOnError(answer, polled.status, "waiting for the sign-in on GitHub");
    throw new DeviceFlowError(`GitHub answered HTTP ${polled.status} without a token`);
  }
}

function failOnError(body: Record<string, unknown>, status: number, doing: string): void {
  const error = text(body.error);
  if (error) {
    const why = WHY[error] ?? `GitHub answered ${error}: ${text(body.error_description) ?? "no description"}`;
    throw new DeviceFlowError(why);
  }
  if (status < 200 || status > 299) throw new DeviceFlowError(`GitHub answered HTTP ${status} ${doing}`);
}

function record(body: unknown): Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function positive(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : null;
}
