// Failure reports quote pod messages, events and log lines from the PR's own workloads. Before
// they go into a PR comment, anything that looks like a credential is masked.
import type { FailureReport } from "../environment/ports.js";

const PATTERNS: RegExp[] = [
  // key=value / key: value where the key names a secret
  /((?:pass(?:word|wd)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth)["']?\s*[:=]\s*["']?)[^\s"',;]+/gi,
  /\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, // AWS access key ids
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, // JWTs (service-account tokens)
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s@/]+@/gi, // user:password@ in URLs
  // kubeconfig credentials: client-key-data, client-certificate-data, token (quoted or not)
  /((?:client-key-data|client-certificate-data|id-token|refresh-token)["']?\s*:\s*["']?)[A-Za-z0-9+/=._-]{8,}/g,
  /\bhttps:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]+/g, // Slack webhooks
  /\bhttps:\/\/(?:discord(?:app)?\.com)\/api\/webhooks\/[0-9]+\/[A-Za-z0-9_-]+/g, // Discord webhooks
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack tokens
  /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/g, // Stripe secret and restricted keys
  /\b(?:whsec|pk_live)_[A-Za-z0-9]{10,}/g,
  // AWS secret access keys: 40 characters of base64 after an aws secret name, or standing alone
  /((?:aws_?secret_?(?:access_?)?key(?:_id)?)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}/gi,
  /\bAIza[0-9A-Za-z_-]{35}\b/g, // Google API keys
  /\bglpat-[A-Za-z0-9_-]{20,}\b/g, // GitLab tokens
  /\bnpm_[A-Za-z0-9]{36}\b/g, // npm tokens
];

/** A line that talks about AWS credentials: a bare 40-character key on it is a secret access key. */
const AWS_CONTEXT = /aws|secret|\bAKIA|\bASIA/i;
const BARE_AWS_SECRET =
  /(?<![A-Za-z0-9/+=])(?![0-9a-f]{40}(?![A-Za-z0-9/+=]))[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;

export function redact(text: string): string {
  let out = text
    .split("\n")
    .map((line) => (AWS_CONTEXT.test(line) ? line.replace(BARE_AWS_SECRET, "[redacted]") : line))
    .join("\n");
  for (const re of PATTERNS) {
    out = out.replace(re, (match: string, prefix?: string) =>
      typeof prefix === "string" && match.startsWith(prefix) ? `${prefix}[redacted]` : "[redacted]",
    );
  }
  return out;
}

export function redactFailure(report: FailureReport): FailureReport {
  return {
    pods: report.pods.map((p) => ({
      ...p,
      message: redact(p.message),
      logs: p.logs === null ? null : redact(p.logs),
    })),
    events: report.events.map((e) => ({ ...e, message: redact(e.message) })),
  };
}
