// prenv's kubeconfig endpoint for cluster-tier tests: the real handler (the local server's route)
// on a loopback HTTP server, with the real adapters against the rig's GitHub stand-in (prenv's App
// as an OAuth client, users' tokens of the App) and the real API server, as the endpoint's own
// identity (prenv-kubeconfig). Every log line it writes is kept, to check that no token ever
// reaches one.
import { KubeConfig } from "@kubernetes/client-node";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parse } from "yaml";
import { pino } from "pino";
import { accessDeps, loginInfo } from "../../../src/runtime/access.js";
import { createKubeconfigHandler, nodeKubeconfigHandler } from "../../../src/runtime/kubeconfig-handler.js";
import type { Settings } from "../../../src/runtime/settings.js";
import type { OAuthAppModel, RepositoryModel } from "../../support/github-standin.js";
import { setup, type Setup } from "./pr-rig.js";

/** prenv's App as an OAuth client on the stand-in, and its users' tokens. */
export interface AccessRig {
  oauth: OAuthAppModel;
  repository: RepositoryModel;
  /** User access tokens of prenv's App, by login: alice admin, bob write, carol read, dave none. */
  tokens: Record<"alice" | "bob" | "carol" | "dave", string>;
  /** Bob's token of some other OAuth app (or `gh auth token`): GitHub knows whose it is. */
  foreignToken: string;
}

export interface Endpoint {
  url: string;
  logs: string[];
  /** The clock the endpoint decides lifetimes with (default: real time). */
  setNow(now: Date | null): void;
  get(path: string, token?: string | null): Promise<{ status: number; body: string; headers: Headers }>;
  close(): Promise<void>;
}

/** prenv's App as an OAuth client, the repository as users' tokens see it, and four users (all optional). */
export function accessRoutes(s: Setup, oauth = s.standIn.oauthApp({ interval: 1 })): AccessRig {
  const repository = s.standIn.repository(s.owner, s.repo, {
    id: (s.pr.pr as { base: { repo: { id: number } } }).base.repo.id,
  });
  Object.assign(s.perms.perms, { alice: "admin", bob: "write", carol: "read" });
  const foreignToken = "gho_test_bob_some_other_oauth_app_00000";
  s.standIn.users({ [foreignToken]: "bob" }, { expect: { optional: true } });
  return {
    oauth,
    repository,
    tokens: {
      alice: oauth.issueToken("alice"),
      bob: oauth.issueToken("bob"),
      carol: oauth.issueToken("carol"),
      dave: oauth.issueToken("dave"),
    },
    foreignToken,
  };
}

/** The endpoint for `s`, as the kubeconfig endpoint's identity `access`, with prenv's App as `oauth`. */
export async function startEndpoint(
  s: Setup,
  access: KubeConfig,
  base: Settings,
  oauth: OAuthAppModel,
): Promise<Endpoint> {
  const settings: Settings = { ...base, github: { apiUrl: s.standIn.url, webUrl: s.standIn.webUrl } };
  const client = { clientId: oauth.clientId, clientSecret: oauth.clientSecret };
  const logs: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  let now: Date | null = null;
  const handle = nodeKubeconfigHandler(
    createKubeconfigHandler(
      () =>
        Promise.resolve(
          accessDeps({ client, kubeConfig: access, settings, log, now: () => now ?? new Date() }),
        ),
      () => Promise.resolve(loginInfo(client, settings)),
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
 * kubeconfig endpoint serving it as its own identity `access`; `path` is the PR's kubeconfig path.
 */
export async function deployed(
  bot: KubeConfig,
  admin: KubeConfig,
  access: KubeConfig,
  opts: { files?: Record<string, string>; rolloutSeconds?: number } = {},
): Promise<{ s: Setup; endpoint: Endpoint; path: string; users: AccessRig }> {
  const s = await setup(bot, admin, {
    ...opts,
    settings: { PRENV_PUBLIC_URL: "https://prenv.example.test" },
  });
  const users = accessRoutes(s);
  await s.rig.deliver("pull_request", s.opened);
  await s.rig.settle();
  const endpoint = await startEndpoint(s, access, s.settings, users.oauth);
  open.push(endpoint);
  return { s, endpoint, path: `/api/kubeconfig/${s.owner}/${s.repo}/${s.number}`, users };
}
