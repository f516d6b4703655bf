// prenv's kubeconfig endpoint for cluster-tier tests: the real handler (the local server's route)
// on a loopback HTTP server, with the real adapters against the rig's GitHub stand-in and the real
// API server. Every log line it writes is kept, to check that no token ever reaches one.
import { KubeConfig } from "@kubernetes/client-node";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parse } from "yaml";
import { pino } from "pino";
import { accessDeps } from "../../../src/runtime/access.js";
import { createKubeconfigHandler, nodeKubeconfigHandler } from "../../../src/runtime/kubeconfig-handler.js";
import type { Settings } from "../../../src/runtime/settings.js";
import { INSTALLATION_ID } from "../../support/payloads.js";
import { setup, type Setup } from "./pr-rig.js";

/** GitHub tokens of the users in these tests, by login (the stand-in answers GET /user for them). */
export const USER_TOKENS: Record<string, string> = {
  alice: "gho_test_alice_admin_0000000000000000",
  bob: "gho_test_bob_write_00000000000000000000",
  carol: "gho_test_carol_read_000000000000000000",
  dave: "gho_test_dave_none_0000000000000000000",
};

export interface Endpoint {
  url: string;
  logs: string[];
  /** The clock the endpoint decides lifetimes with (default: real time). */
  setNow(now: Date | null): void;
  get(path: string, token?: string | null): Promise<{ status: number; body: string; headers: Headers }>;
  close(): Promise<void>;
}

/** Registers the GitHub calls the endpoint makes for `s`'s repository (all optional). */
export function accessRoutes(s: Setup): void {
  s.standIn.users(Object.fromEntries(Object.entries(USER_TOKENS).map(([login, token]) => [token, login])), {
    expect: { optional: true },
  });
  s.standIn.repoInstallation(s.owner, s.repo, INSTALLATION_ID, { expect: { optional: true } });
  Object.assign(s.perms.perms, { alice: "admin", bob: "write", carol: "read" });
}

export async function startEndpoint(s: Setup, bot: KubeConfig, settings: Settings): Promise<Endpoint> {
  const logs: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  let now: Date | null = null;
  const handle = nodeKubeconfigHandler(
    createKubeconfigHandler(() =>
      Promise.resolve(
        accessDeps({ probot: s.rig.probot, kubeConfig: bot, settings, log, now: () => now ?? new Date() }),
      ),
    ),
  );
  const server: Server = createServer((req, res) => {
    handle(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404).end();
      },
      (err: unknown) => {
        logs.push(`handler threw: ${String(err)}`);
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    logs,
    setNow(next) {
      now = next;
    },
    async get(path, token) {
      const res = await fetch(`${url}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: res.status, body: await res.text(), headers: res.headers };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function kubeconfigOf(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
}

export function tokenOf(text: string): string {
  const doc = parse(text) as { users: { user: { token: string } }[] };
  return doc.users[0]!.user.token;
}

const open: Endpoint[] = [];

/** Closes the endpoints deployed() started; call afterEach. */
export async function closeEndpoints(): Promise<void> {
  for (const e of open.splice(0)) await e.close();
}

/**
 * A PR deployed by the real app (with `files`, or the rig's default manifests) and prenv's
 * kubeconfig endpoint serving it; `path` is the PR's kubeconfig path.
 */
export async function deployed(
  bot: KubeConfig,
  admin: KubeConfig,
  opts: { files?: Record<string, string>; rolloutSeconds?: number } = {},
): Promise<{ s: Setup; endpoint: Endpoint; path: string }> {
  const s = await setup(bot, admin, {
    ...opts,
    settings: { PRENV_PUBLIC_URL: "https://prenv.example.test" },
  });
  accessRoutes(s);
  await s.rig.deliver("pull_request", s.opened);
  await s.rig.settle();
  const endpoint = await startEndpoint(s, bot, s.settings);
  open.push(endpoint);
  return { s, endpoint, path: `/api/kubeconfig/${s.owner}/${s.repo}/${s.number}` };
}
