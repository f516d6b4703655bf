// A TCP proxy in front of the API server that holds everything a client sends for `delayMs` before
// passing it on, so every request (and every TLS handshake flight) costs that much more: a far
// API server, as from a Lambda function in another region. And how to count the requests a
// client sent one after another.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createServer, connect, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

/** One HTTP request: sent at `start`, its response headers in at `end` (ms). */
export interface Exchange {
  start: number;
  end: number;
}

export interface LatencyProxy {
  /** 127.0.0.1:<port> */
  address: string;
  close(): Promise<void>;
}

export async function startLatencyProxy(
  target: { host: string; port: number },
  delayMs: number,
): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on("data", (chunk: Buffer) => {
      setTimeout(() => {
        if (!upstream.destroyed) upstream.write(chunk);
      }, delayMs);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!client.destroyed) client.write(chunk);
    });
    const end = () => {
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      }, delayMs);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The longest chain of exchanges each of which began after the one before it was answered. */
export function sequentialRoundTrips(exchanges: Exchange[]): number {
  const byEnd = [...exchanges].sort((a, b) => a.end - b.end);
  const longest: number[] = [];
  let best = 0;
  for (let i = 0; i < byEnd.length; i++) {
    let chain = 1;
    for (let j = 0; j < i; j++) {
      if (byEnd[j]!.end <= byEnd[i]!.start) chain = Math.max(chain, longest[j]! + 1);
    }
    longest.push(chain);
    best = Math.max(best, chain);
  }
  return best;
}

/** Every request undici sends in this process (client-node's and raw.ts's) until stop(). */
export function recordRequests(): { stop(): Exchange[] } {
  const open = new Map<object, Exchange>();
  const done: Exchange[] = [];
  const created = (message: unknown) => {
    open.set((message as { request: object }).request, { start: performance.now(), end: 0 });
  };
  const answered = (message: unknown) => {
    const request = (message as { request: object }).request;
    const e = open.get(request);
    if (!e) return;
    open.delete(request);
    e.end = performance.now();
    done.push(e);
  };
  subscribe("undici:request:create", created);
  subscribe("undici:request:headers", answered);
  return {
    stop: () => {
      unsubscribe("undici:request:create", created);
      unsubscribe("undici:request:headers", answered);
      return done;
    },
  };
}

/**
 * kubectl's requests from its -v=6 log: each response line carries its time (klog, microseconds)
 * and how long the request took, so its start is that time less the duration.
 */
export function kubectlRequests(log: string): Exchange[] {
  const out: Exchange[] = [];
  for (const line of log.split("\n")) {
    const time = /^[IWE]\d{4} (\d\d):(\d\d):(\d\d)\.(\d{6})/.exec(line);
    const took = /"Response".*milliseconds=(\d+)|\d{3} [A-Za-z ]+ in (\d+) milliseconds/.exec(line);
    if (!time || !took) continue;
    const [h, m, sec, us] = time.slice(1).map(Number) as [number, number, number, number];
    const end = ((h * 60 + m) * 60 + sec) * 1000 + us / 1000;
    out.push({ start: end - Number(took[1] ?? took[2]), end });
  }
  return out;
}
