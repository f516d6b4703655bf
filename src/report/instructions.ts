// What the PR comment says about kubectl access: two ways to ask prenv's kubeconfig endpoint, and
// nothing that is itself a credential.
import type { PrRef } from "../environment/ports.js";
import type { AccessSettings } from "../environment/settings.js";

export interface AccessInstructions {
  /** `npx prenv kubeconfig owner/repo#12 --url …`. */
  cli: string;
  /** The same with curl, and a token of prenv's GitHub App from `prenv token`. */
  curl: string;
  /** Default lifetime, e.g. "1h". */
  ttl: string;
}

/** Where prenv serves kubeconfigs: `<route><owner>/<repo>/<number>`. */
export const KUBECONFIG_ROUTE = "/api/kubeconfig/";
/** Where the CLI learns whose device flow to run (the App's client id, GitHub's web host). */
export const LOGIN_PATH = `${KUBECONFIG_ROUTE}login`;

/** The endpoint path for a pull request; owner and repo are GitHub names, safe in a URL path. */
export function kubeconfigPath(ref: { owner: string; repo: string; number: number | string }): string {
  return `${KUBECONFIG_ROUTE}${encodeURIComponent(ref.owner)}/${encodeURIComponent(ref.repo)}/${ref.number}`;
}

/** Null when the operator has not published the endpoint (PRENV_PUBLIC_URL). */
export function accessInstructions(
  settings: AccessSettings,
  ref: Pick<PrRef, "owner" | "repo" | "number">,
): AccessInstructions | null {
  if (!settings.publicUrl) return null;
  const file = `pr-${ref.number}.kubeconfig`;
  return {
    cli: `npx prenv kubeconfig ${ref.owner}/${ref.repo}#${ref.number} --url ${settings.publicUrl} > ${file}`,
    curl: `curl --fail-with-body -sS -H "Authorization: Bearer $(npx prenv token --url ${settings.publicUrl})" ${settings.publicUrl}${kubeconfigPath(ref)} -o ${file}`,
    ttl: formatDuration(settings.defaultTtlMs),
  };
}

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes % 60 !== 0) return `${minutes}m`;
  return `${minutes / 60}h`;
}
