// Arguments of `prenv kubeconfig` and `prenv token`, parsed without touching the process (the CLI
// passes env in).

/** How the CLI gets a GitHub token of prenv's App. */
export interface TokenSource {
  /** Read it from this environment variable (automation; it must still be a token of prenv's App). */
  tokenEnv: string | null;
  /** Keep the device flow's token in this file (mode 0600) and reuse it until it expires; null: keep nothing. */
  tokenCache: string | null;
}

export interface KubeconfigArgs extends TokenSource {
  owner: string;
  repo: string;
  number: string;
  url: string;
  ttl: string | null;
  out: string | null;
}

export interface TokenArgs extends TokenSource {
  url: string;
}

const FLAGS: Record<string, string> = {
  "--url": "url",
  "--ttl": "ttl",
  "-o": "out",
  "--output": "out",
  "--token-env": "tokenEnv",
  "--token-cache": "tokenCache",
};

function parseFlags(
  args: string[],
  allowed: readonly string[],
): { flags: Record<string, string>; positional: string[] } | string {
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const flag = FLAGS[a];
    if (flag && allowed.includes(flag)) {
      const value = args[++i];
      if (value === undefined) return `${a} needs a value`;
      flags[flag] = value;
    } else if (a.startsWith("-")) {
      return `unknown option ${a}`;
    } else {
      positional.push(a);
    }
  }
  if (flags.tokenEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(flags.tokenEnv)) {
    return "--token-env names an environment variable, e.g. --token-env PRENV_GITHUB_TOKEN";
  }
  if (flags.tokenEnv !== undefined && flags.tokenCache !== undefined) {
    return "use --token-env or --token-cache, not both";
  }
  return { flags, positional };
}

function urlOf(
  flags: Record<string, string>,
  env: Readonly<Record<string, string | undefined>>,
): string | null {
  const url = (flags.url ?? env.PRENV_URL ?? "").replace(/\/+$/, "");
  return /^https?:\/\//.test(url) ? url : null;
}

const NO_URL = "give prenv's URL with --url (it is in the PR comment) or PRENV_URL";

/** Parses `owner/repo#123 [--url U] [--ttl D] [-o F] [--token-env VAR | --token-cache FILE]`. */
export function parseKubeconfigArgs(
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
): KubeconfigArgs | string {
  const parsed = parseFlags(args, ["url", "ttl", "out", "tokenEnv", "tokenCache"]);
  if (typeof parsed === "string") return parsed;
  const { flags, positional } = parsed;
  const m = /^([^/\s#]+)\/([^/\s#]+)#([0-9]+)$/.exec(positional[0] ?? "");
  if (positional.length !== 1 || !m)
    return "name the pull request as <owner>/<repo>#<number>, e.g. acme/web#12";
  const url = urlOf(flags, env);
  if (!url) return NO_URL;
  return {
    owner: m[1]!,
    repo: m[2]!,
    number: m[3]!,
    url,
    ttl: flags.ttl ?? null,
    out: flags.out ?? null,
    tokenEnv: flags.tokenEnv ?? null,
    tokenCache: flags.tokenCache ?? null,
  };
}

/** Parses `[--url U] [--token-cache FILE]` of `prenv token`. */
export function parseTokenArgs(
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
): TokenArgs | string {
  const parsed = parseFlags(args, ["url", "tokenCache"]);
  if (typeof parsed === "string") return parsed;
  if (parsed.positional.length > 0) return `unexpected argument ${parsed.positional[0]}`;
  const url = urlOf(parsed.flags, env);
  if (!url) return NO_URL;
  return { url, tokenEnv: null, tokenCache: parsed.flags.tokenCache ?? null };
}
