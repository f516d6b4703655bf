// Every log line of the chaos run's processes is scanned for credentials: GitHub installation
// tokens, JWTs, private keys (the App's and the bot's client key, by their PEM lines), bearer
// headers and the webhook secret.

const PATTERNS: [string, RegExp][] = [
  ["a GitHub installation token", /\bghs_[A-Za-z0-9_]{16,}/],
  ["a JWT", /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/],
  ["a PEM private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ["an authorization header", /\b(?:token|bearer)\s+[A-Za-z0-9._~+/-]{20,}/i],
];

export class SecretScanner {
  readonly findings: string[] = [];
  lines = 0;
  private readonly literals: [string, string][] = [];

  /** `secrets`: name → a secret (PEM keys are matched by each of their base64 lines). */
  constructor(secrets: Record<string, string>) {
    for (const [name, value] of Object.entries(secrets)) {
      const parts = value.includes("-----BEGIN")
        ? value.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"))
        : [value];
      for (const p of parts) this.literals.push([name, p]);
    }
  }

  scan(line: string, source: string): void {
    this.lines++;
    for (const [what, re] of PATTERNS) if (re.test(line)) this.found(`${what}`, line, source);
    for (const [name, secret] of this.literals) if (line.includes(secret)) this.found(name, line, source);
  }

  private found(what: string, line: string, source: string): void {
    if (this.findings.length >= 20) return;
    let masked = line;
    for (const [, re] of PATTERNS) masked = masked.replace(new RegExp(re.source, `${re.flags}g`), "[masked]");
    for (const [, secret] of this.literals) masked = masked.split(secret).join("[masked]");
    this.findings.push(`${source}: ${what} in: ${masked.slice(0, 300)}`);
  }
}
