// A TLS proxy in front of the real API server that injects faults at the HTTP boundary: for a share
// of requests it answers 500 or 503 (a Status, as the API server does), 429 with Retry-After (as API
// Priority and Fairness does), resets the connection (before the request reaches the API server, or
// after it was served, so that the answer is lost), or adds latency. It accepts only clients
// presenting a certificate of the run's CA and forwards every request with the bot's own client
// certificate, so the API server sees exactly prenv-bot (and its impersonation headers).
import { KubeConfig } from "@kubernetes/client-node";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePki } from "../cluster/harness/pki.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Rng } from "./rng.js";

export type KubeFault = "500" | "503" | "429" | "reset-before" | "reset-after" | "latency";

export interface KubeRequest {
  method: string;
  path: string;
  fault: KubeFault | null;
}

export interface KubeFaultProxy {
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Requests seen, by fault (null: passed through untouched). */
  counts: Map<KubeFault | "none", number>;
  close(): Promise<void>;
}

export interface KubeFaultOptions {
  upstream: string;
  /** PEM: the API server's CA (also the CA of the clients the proxy accepts, unless `clientCa`). */
  ca: string;
  clientCa?: string;
  /** PEM files: the client certificate the proxy forwards with (the bot's), its serving pair. */
  client: { cert: string; key: string };
  serving: { cert: string; key: string };
  /** Which fault, if any, a request gets. */
  decide: (r: { method: string; path: string }) => KubeFault | null;
  /** The latency a `latency` fault adds (ms). */
  latencyMs?: () => number;
  onRequest?: (r: KubeRequest) => void;
}

/** A share `rate` of requests gets a fault, drawn from `rng` with the run's mix. */
export function randomFaults(rate: () => number, rng: Rng): KubeFaultOptions["decide"] {
  return () => (rng.chance(rate()) ? rng.weighted(FAULT_MIX) : null);
}

const FAULT_MIX: Record<KubeFault, number> = {
  "500": 2,
  "503": 2,
  "429": 2,
  "reset-before": 1,
  "reset-after": 1,
  latency: 2,
};

function status(code: number, reason: string, message: string) {
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  });
}

export async function startKubeFaultProxy(opts: KubeFaultOptions): Promise<KubeFaultProxy> {
  const ca = readFileSync(opts.ca);
  const client = { cert: readFileSync(opts.client.cert), key: readFileSync(opts.client.key) };
  const upstream = new URL(opts.upstream);
  const counts = new Map<KubeFault | "none", number>();
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse, dropAnswer: boolean) => {
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        ca,
        ...client,
      },
      (answer) => {
        if (dropAnswer) {
          // Served by the API server; the client never learns the outcome.
          answer.resume();
          answer.on("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", () => req.socket.destroy());
    req.pipe(up);
  };

  const server: Server = createServer(
    {
      cert: readFileSync(opts.serving.cert),
      key: readFileSync(opts.serving.key),
      ca: opts.clientCa ? readFileSync(opts.clientCa) : ca,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const fault = opts.decide({ method: req.method ?? "GET", path: req.url ?? "/" });
      counts.set(fault ?? "none", (counts.get(fault ?? "none") ?? 0) + 1);
      opts.onRequest?.({ method: req.method ?? "GET", path: req.url ?? "/", fault });
      const json = { "content-type": "application/json" };
      switch (fault) {
        case "500":
          req.resume();
          res.writeHead(500, json).end(status(500, "InternalError", "chaos: an injected internal error"));
          return;
        case "503":
          req.resume();
          res
            .writeHead(503, { ...json, "retry-after": "1" })
            .end(
              status(
                503,
                "ServiceUnavailable",
                "chaos: the server is currently unable to handle the request",
              ),
            );
          return;
        case "429":
          req.resume();
          res
            .writeHead(429, { ...json, "retry-after": "1" })
            .end(status(429, "TooManyRequests", "chaos: too many requests, please try again later"));
          return;
        case "reset-before":
          req.socket.destroy();
          return;
        case "reset-after":
          forward(req, res, true);
          return;
        case "latency":
          setTimeout(() => forward(req, res, false), opts.latencyMs?.() ?? 500);
          return;
        default:
          forward(req, res, false);
      }
    },
  );
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    server: `https://127.0.0.1:${port}`,
    counts,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The fault proxy in front of the cluster `base` points at, and a kubeconfig that reaches the
 * cluster through it with `base`'s credentials (a client certificate, inline or in files). The
 * proxy serves a certificate of its own test CA (pki.ts) and forwards with `base`'s certificate.
 */
export async function faultyKubeConfig(
  base: KubeConfig,
  decide: KubeFaultOptions["decide"],
  opts: { latencyMs?: () => number; onRequest?: (r: KubeRequest) => void } = {},
): Promise<{ kubeConfig: KubeConfig; proxy: KubeFaultProxy; close(): Promise<void> }> {
  const cluster = base.getCurrentCluster();
  const user = base.getCurrentUser();
  if (!cluster || !user) throw new Error("faultyKubeConfig: the kubeconfig has no current cluster or user");
  const dir = mkdtempSync(join(tmpdir(), "prenv-kube-faults-"));
  const file = (name: string, data: string | undefined, path: string | undefined): string => {
    if (path) return path;
    if (!data)
      throw new Error(
        `faultyKubeConfig: the kubeconfig's user has no ${name} (a client certificate is needed)`,
      );
    writeFileSync(join(dir, name), Buffer.from(data, "base64"));
    return join(dir, name);
  };
  const ca = file("ca.crt", cluster.caData, cluster.caFile);
  const client = {
    cert: file("client.crt", user.certData, user.certFile),
    key: file("client.key", user.keyData, user.keyFile),
  };
  const pkiDir = join(dir, "proxy-pki");
  mkdirSync(pkiDir);
  const pki = makePki(pkiDir);
  const proxy = await startKubeFaultProxy({
    upstream: cluster.server,
    ca,
    clientCa: ca,
    client,
    serving: pki.serving,
    decide,
    ...opts,
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "faulty", server: proxy.server, caFile: pki.caCert, skipTLSVerify: false }],
    users: [{ name: "faulty", certFile: client.cert, keyFile: client.key }],
    contexts: [{ name: "faulty", cluster: "faulty", user: "faulty" }],
    currentContext: "faulty",
  });
  return {
    kubeConfig,
    proxy,
    async close() {
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
