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
];

export function redact(text: string): string {
  let out = text;
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
