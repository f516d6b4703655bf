// Arguments of `prenv kubeconfig`, parsed without touching the process (the CLI passes env in).

export interface KubeconfigArgs {
  owner: string;
  repo: string;
  number: string;
  url: string;
  ttl: string | null;
  out: string | null;
}

/** Parses `owner/repo#123 [--url U] [--ttl D] [-o F]`; the URL may come from PRENV_URL. */
export function parseKubeconfigArgs(
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
): KubeconfigArgs | string {
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const flag = { "--url": "url", "--ttl": "ttl", "-o": "out", "--output": "out" }[a];
    if (flag) {
      const value = args[++i];
      if (value === undefined) return `${a} needs a value`;
      flags[flag] = value;
    } else if (a.startsWith("-")) {
      return `unknown option ${a}`;
    } else {
      positional.push(a);
    }
  }
  const m = /^([^/\s#]+)\/([^/\s#]+)#([0-9]+)$/.exec(positional[0] ?? "");
  if (positional.length !== 1 || !m)
    return "name the pull request as <owner>/<repo>#<number>, e.g. acme/web#12";
  const url = (flags.url ?? env.PRENV_URL ?? "").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(url)) return "give prenv's URL with --url (it is in the PR comment) or PRENV_URL";
  return { owner: m[1]!, repo: m[2]!, number: m[3]!, url, ttl: flags.ttl ?? null, out: flags.out ?? null };
}
