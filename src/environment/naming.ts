// Names derived from a pull request: its namespace, its preview host, slugs for templates.
// Deterministic (the cluster is the source of truth, so the same PR must always map to the same
// namespace) and collision-free across organisations and repositories.
import { createHash } from "node:crypto";

/** Kubernetes DNS-1123 label: what a namespace name must be. */
export const DNS_LABEL_MAX = 63;
const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Namespace prefixes must start with a letter so every namespace name does. */
const PREFIX_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/**
 * 80 bits of sha256(lowercase `owner/repo`) in base32 (16 characters of [a-z2-7]). Finding another
 * repository name with the same hash is a second-preimage search of about 2^80 hashes (see
 * docs/adr/0005). Namespaces made before that used 6 hex digits (24 bits): see legacyNamespaceName.
 */
const HASH_BITS = 80;
const LEGACY_HASH_HEX = 6;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

export interface RepoPullRef {
  owner: string;
  repo: string;
  pr: number;
}

/**
 * The namespace of a pull request's environment, e.g. `pr-123-acme-web-app-k5xq2w7mzt3b4hpa`:
 * `<prefix>-<pr>-<owner-repo slug>-<hash>`.
 *
 * - A valid DNS-1123 label of at most 63 characters that starts with a letter.
 * - The hash is 80 bits of sha256(lowercase `owner/repo`) in base32. It is always present, so
 *   `a-b/c` and `a/b-c` (same slug) differ, and cutting a long slug short cannot make two
 *   repositories collide. The slug is only there for people reading `kubectl get ns`.
 * - GitHub names are case-insensitive, so `Acme/Web` and `acme/web` give the same namespace.
 * - A name is where prenv looks, not proof of ownership: before acting on a namespace prenv checks the
 *   repository id and PR number recorded on it (see `ownerOf` in state.ts).
 *
 * Throws when `pr` is not a positive integer, owner or repo is empty, or the prefix is not a DNS
 * label starting with a letter and short enough to leave room for the number and the hash.
 */
export function namespaceName(ref: RepoPullRef, prefix = "pr"): string {
  return composeName(ref, prefix, base32Hash(`${ref.owner}/${ref.repo}`.toLowerCase()));
}

/**
 * The name prenv gave environments before the hash grew to 80 bits (6 hex digits, 24 bits). Such
 * environments keep their name until they are deleted; prenv finds them under it, and acts on them
 * only when the repository id and PR recorded on them match (docs/adr/0005).
 */
export function legacyNamespaceName(ref: RepoPullRef, prefix = "pr"): string {
  const fullName = `${ref.owner}/${ref.repo}`.toLowerCase();
  return composeName(
    ref,
    prefix,
    createHash("sha256").update(fullName).digest("hex").slice(0, LEGACY_HASH_HEX),
  );
}

function composeName(ref: RepoPullRef, prefix: string, hash: string): string {
  if (!Number.isSafeInteger(ref.pr) || ref.pr < 1) {
    throw new Error(`pull request number must be a positive integer, got ${String(ref.pr)}`);
  }
  if (!ref.owner || !ref.repo) throw new Error("owner and repo must not be empty");
  if (!PREFIX_RE.test(prefix)) {
    throw new Error(
      `namespace prefix ${JSON.stringify(prefix)} must be lowercase letters, digits and '-', ` +
        "starting with a letter and ending with a letter or digit",
    );
  }
  const fixed = `${prefix}-${ref.pr}-`;
  const room = DNS_LABEL_MAX - fixed.length - hash.length;
  if (room < 0) throw new Error(`namespace prefix ${JSON.stringify(prefix)} is too long`);
  // room - 1: the slug needs a '-' before the hash.
  const slug = room > 1 ? slugify(`${ref.owner}-${ref.repo}`, room - 1) : "";
  return slug ? `${fixed}${slug}-${hash}` : `${fixed}${hash}`;
}

/** The first HASH_BITS bits of sha256(text), 5 bits per base32 character. */
function base32Hash(text: string): string {
  const digest = createHash("sha256").update(text).digest();
  let out = "";
  for (let bit = 0; bit < HASH_BITS; bit += 5) {
    const byte = bit >> 3;
    const word = (digest[byte]! << 8) | (digest[byte + 1] ?? 0);
    out += BASE32[(word >> (11 - (bit & 7))) & 31];
  }
  return out;
}

/**
 * A branch name as a DNS-1123-label-style slug for templates: lowercase letters, digits and
 * single '-', no leading or trailing '-', at most `max` characters (1..63).
 * `feature/Login_Page` → `feature-login-page`. Never empty: a branch with no letters or digits
 * gives `branch` (cut to `max`). Different branches can share a slug; use it for readability, not identity.
 */
export function branchSlug(branch: string, max = 40): string {
  if (!Number.isInteger(max) || max < 1 || max > DNS_LABEL_MAX) {
    throw new Error(`branch slug length must be an integer from 1 to ${DNS_LABEL_MAX}, got ${max}`);
  }
  return slugify(branch, max) || "branch".slice(0, max);
}

/**
 * The preview hostname, `<namespace>.<baseDomain>` in lowercase. Throws when `namespace` is not a
 * DNS-1123 label, `baseDomain` is not a DNS name (dot-separated labels of letters, digits and
 * inner '-', no trailing dot, no wildcard) or the host would exceed 253 characters.
 */
export function previewHost(namespace: string, baseDomain: string): string {
  if (!isDnsLabel(namespace))
    throw new Error(`namespace ${JSON.stringify(namespace)} is not a DNS-1123 label`);
  const domain = baseDomain.toLowerCase();
  if (!domain.split(".").every(isDnsLabel)) {
    throw new Error(
      `base domain ${JSON.stringify(baseDomain)} is not a DNS name: use dot-separated labels of ` +
        "letters, digits and '-' without a trailing dot, e.g. preview.example.com",
    );
  }
  const host = `${namespace}.${domain}`;
  if (host.length > 253)
    throw new Error(`preview host ${host} is longer than 253 characters; shorten the base domain`);
  return host;
}

/**
 * The API host of a PR's virtual cluster, `<namespace>.<apiDomain>`: outside the preview host and
 * its subdomains, so no Ingress of the PR's own can claim it (deploy/policy.yaml).
 */
export function virtualApiHost(namespace: string, apiDomain: string): string {
  return previewHost(namespace, apiDomain);
}

/** First 7 characters of a commit SHA, lowercase. Throws unless `sha` is 7 to 64 hex digits. */
export function shortSha(sha: string): string {
  if (!/^[0-9a-f]{7,64}$/i.test(sha))
    throw new Error(`${JSON.stringify(sha.slice(0, 80))} is not a commit SHA`);
  return sha.slice(0, 7).toLowerCase();
}

/** True for a Kubernetes DNS-1123 label: 1-63 of [a-z0-9-], alphanumeric at both ends. */
export function isDnsLabel(value: string): boolean {
  return value.length <= DNS_LABEL_MAX && DNS_LABEL_RE.test(value);
}

/** Lowercase; every run of other characters becomes one '-'; trimmed; cut to `max`. */
function slugify(text: string, max: number): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, max)
    .replace(/-+$/, "");
}
