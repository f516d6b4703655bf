// Where a preview's pods may connect to: the cluster DNS, their own namespace, and the internet
// outside the operator's private ranges (PRENV_EGRESS_DENY_CIDRS). A repository may narrow that
// (`egress.allow: none`, or a list of public ranges), never widen it.
import type { RepoConfig } from "../config/schema.js";

export interface Cidr {
  family: 4 | 6;
  /** The network address as a number (host bits cleared). */
  network: bigint;
  prefix: number;
  text: string;
}

export interface IpBlock {
  cidr: string;
  except: string[];
}

/** Parses `a.b.c.d/n` or an IPv6 `x:y::z/n`; null when it is not a CIDR. */
export function parseCidr(text: string): Cidr | null {
  const [address, bits, ...rest] = text.trim().split("/");
  if (address === undefined || bits === undefined || rest.length > 0 || !/^[0-9]{1,3}$/.test(bits))
    return null;
  const prefix = Number(bits);
  const v4 = parseV4(address);
  const value = v4 ?? parseV6(address);
  if (value === null) return null;
  const family = v4 !== null ? 4 : 6;
  const width = family === 4 ? 32 : 128;
  if (prefix > width) return null;
  const host = (1n << BigInt(width - prefix)) - 1n;
  return { family, network: value & ~host, prefix, text: text.trim() };
}

function parseV4(address: string): bigint | null {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

function parseV6(address: string): bigint | null {
  if (!/^[0-9a-f:]+$/i.test(address) || address.split("::").length > 2) return null;
  const [head = "", tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? left.length !== 8 : missing < 1) return null;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** True when every address of `inner` is in `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  const width = BigInt(outer.family === 4 ? 32 : 128);
  const shift = width - BigInt(outer.prefix);
  return inner.network >> shift === outer.network >> shift;
}

const INTERNET: Record<4 | 6, string> = { 4: "0.0.0.0/0", 6: "::/0" };

/**
 * The ipBlocks of the egress policy: each allowed range minus the operator's denied ranges inside it.
 * Ranges that fall inside a denied range are left out (they are refused in the config first; see
 * egressProblems).
 */
export function egressBlocks(allow: RepoConfig["egress"]["allow"], deny: readonly string[]): IpBlock[] {
  const denied = deny.map(parseCidr).filter((c): c is Cidr => c !== null);
  const wanted = allow === "none" ? [] : allow === "internet" ? [INTERNET[4], INTERNET[6]] : allow;
  const blocks: IpBlock[] = [];
  for (const text of wanted) {
    const cidr = parseCidr(text);
    if (!cidr || denied.some((d) => contains(d, cidr))) continue;
    blocks.push({
      cidr: cidr.text,
      except: denied.filter((d) => contains(cidr, d) && d.prefix > cidr.prefix).map((d) => d.text),
    });
  }
  return blocks;
}

/** Allowed ranges a repository listed that the operator denies: one message per range. */
export function egressProblems(allow: RepoConfig["egress"]["allow"], deny: readonly string[]): string[] {
  if (!Array.isArray(allow)) return [];
  const denied = deny.map(parseCidr).filter((c): c is Cidr => c !== null);
  return allow.flatMap((text) => {
    const cidr = parseCidr(text);
    const inside = cidr ? denied.find((d) => contains(d, cidr)) : undefined;
    return inside
      ? [`${text} is inside ${inside.text}, which this installation does not let previews reach`]
      : [];
  });
}
