// TLS passthrough by SNI for the cluster tier, as an ingress controller with ssl-passthrough serves
// a virtual cluster's API: a connection's TLS server name is looked up in the Ingresses on the host
// that ask for passthrough, and the bytes go unchanged to a Ready endpoint of their backend
// Service, as ingress-nginx picks one from the Service's EndpointSlices (TLS ends at the vcluster,
// which proves its certificate covers the per-PR host). Listens on 127.0.0.1: what
// PRENV_VCLUSTER_API_ADDRESS is set to in the tests.
//
// The endpoint is dialled from inside the test node (startNodeDialer), as from an ingress
// controller on the node's network: kube-router's policies treat the connection as the node's own
// (as they treat the kubelet's probes). Pod addresses exist only inside the node's network
// namespace, so that is where every connection to them starts.
import { CoreV1Api, DiscoveryV1Api, NetworkingV1Api, type KubeConfig } from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type { NodeInfo } from "./node.js";

/**
 * The TLS server name of a ClientHello; null when `hello` is not a ClientHello carrying one,
 * undefined while its first record is incomplete.
 */
export function serverName(hello: Buffer): string | null | undefined {
  if (hello.length < 5) return undefined;
  if (hello[0] !== 0x16) return null; // not a TLS handshake record
  const recordEnd = 5 + hello.readUInt16BE(3);
  if (hello.length < recordEnd) return undefined;
  let at = 5;
  if (hello[at] !== 0x01) return null; // not a ClientHello
  at += 4 + 2 + 32; // handshake header, client version, random
  at += 1 + hello[at]!; // session id
  at += 2 + hello.readUInt16BE(at); // cipher suites
  at += 1 + hello[at]!; // compression methods
  if (at + 2 > recordEnd) return null;
  const extensionsEnd = at + 2 + hello.readUInt16BE(at);
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    at += 4;
    if (type === 0x0000) {
      // server_name: list length, then entries of (type, length, name); type 0 is a host name.
      let entry = at + 2;
      while (entry + 3 <= at + length) {
        const nameLength = hello.readUInt16BE(entry + 1);
        if (hello[entry] === 0) return hello.toString("ascii", entry + 3, entry + 3 + nameLength);
        entry += 3 + nameLength;
      }
      return null;
    }
    at += length;
  }
  return null;
}

/** Opens TCP connections from inside the test node. */
export interface NodeDialer {
  dial(host: string, port: number): Promise<Socket>;
  close(): Promise<void>;
}

// The node's end: an HTTP CONNECT server on the node's address, answering only the host's end of
// the node's link (never a pod: its connections would leave the node as the node's own). It exits
// when the harness does (its standard input closes).
const DIALER = `
const http = require("node:http"), net = require("node:net");
const [listen, peer] = process.argv.slice(1);
const server = http.createServer((req, res) => res.writeHead(405).end());
server.on("connect", (req, socket, head) => {
  if (socket.remoteAddress !== peer) return socket.destroy();
  const at = req.url.lastIndexOf(":");
  const upstream = net.connect(Number(req.url.slice(at + 1)), req.url.slice(0, at));
  let established = false;
  upstream.once("connect", () => {
    established = true;
    socket.write("HTTP/1.1 200 Connection Established\\r\\n\\r\\n");
    if (head.length) upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
  });
  upstream.on("error", (err) =>
    established ? socket.destroy() : socket.end("HTTP/1.1 502 " + err.code + "\\r\\n\\r\\n"));
  upstream.on("close", () => socket.destroy());
  socket.on("error", () => upstream.destroy());
  socket.on("close", () => upstream.destroy());
});
server.listen(0, listen, () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0)).resume();
`;

/**
 * Starts the dialer in the node's network namespace. `peer` is the host's end of the node's link
 * (the address the host's connections to the node come from).
 */
export async function startNodeDialer(
  node: Pick<NodeInfo, "netns" | "nodeIP">,
  peer: string,
): Promise<NodeDialer> {
  const child = spawn(
    "nsenter",
    [`--net=${node.netns}`, "--", process.execPath, "-e", DIALER, node.nodeIP, peer],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
    child.once("exit", (code) => reject(new Error(`the node's dialer exited (${code})`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    dial: (host, targetPort) =>
      new Promise<Socket>((resolve, reject) => {
        const req = request({
          host: node.nodeIP,
          port,
          method: "CONNECT",
          path: `${host}:${targetPort}`,
          agent: false,
        });
        req.once("connect", (res, socket, head) => {
          if (res.statusCode !== 200) {
            socket.destroy();
            return reject(
              new Error(`from the node, ${host}:${targetPort}: ${res.statusCode} ${res.statusMessage}`),
            );
          }
          if (head.length) socket.unshift(head);
          resolve(socket);
        });
        req.once("error", reject);
        req.end();
      }),
    async close() {
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface Passthrough {
  /** `127.0.0.1:<port>`. */
  address: string;
  close(): Promise<void>;
}

/**
 * Routes by SNI to a Ready endpoint of the backend Service of the passthrough Ingress for that host,
 * dialled through `node`.
 */
export async function startPassthrough(
  admin: KubeConfig,
  node: Pick<NodeDialer, "dial">,
): Promise<Passthrough> {
  const net = admin.makeApiClient(NetworkingV1Api);
  const core = admin.makeApiClient(CoreV1Api);
  const discovery = admin.makeApiClient(DiscoveryV1Api);

  async function backend(host: string): Promise<{ ip: string; port: number } | null> {
    const ingresses = await net.listIngressForAllNamespaces();
    for (const ing of ingresses.items) {
      if (ing.metadata?.annotations?.["nginx.ingress.kubernetes.io/ssl-passthrough"] !== "true") continue;
      const rule = ing.spec?.rules?.find((r) => r.host === host);
      const svcRef = rule?.http?.paths[0]?.backend.service;
      if (!svcRef?.name) continue;
      const namespace = ing.metadata.namespace!;
      const svc = await core.readNamespacedService({ name: svcRef.name, namespace });
      const port = svc.spec?.ports?.find((p) =>
        svcRef.port?.name ? p.name === svcRef.port.name : p.port === svcRef.port?.number,
      );
      if (!port) return null;
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: `kubernetes.io/service-name=${svcRef.name}`,
      });
      for (const slice of slices.items) {
        const target = slice.ports?.find((p) => (p.name ?? "") === (port.name ?? ""))?.port;
        const ready = (slice.endpoints ?? []).find(
          (e) => e.conditions?.ready !== false && e.addresses.length > 0,
        );
        if (target && ready) return { ip: ready.addresses[0]!, port: target };
      }
      return null;
    }
    return null;
  }

  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    let hello = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      hello = Buffer.concat([hello, chunk]);
      const name = serverName(hello);
      if (name === undefined) return;
      client.off("data", onData);
      client.pause();
      if (!name) return void client.destroy();
      backend(name)
        .then(async (to) => {
          if (!to) return void client.destroy();
          const upstream = await node.dial(to.ip, to.port);
          sockets.add(upstream);
          upstream.on("close", () => {
            sockets.delete(upstream);
            client.destroy();
          });
          upstream.on("error", () => client.destroy());
          client.on("close", () => upstream.destroy());
          upstream.write(hello);
          client.pipe(upstream).pipe(client);
          client.resume();
        })
        .catch(() => client.destroy());
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
