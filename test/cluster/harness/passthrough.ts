// TLS passthrough by SNI for the cluster tier, as an ingress controller with ssl-passthrough serves
// a virtual cluster's API: a connection's TLS server name is looked up in the Ingresses on the host
// that ask for passthrough, their backend Service's selector finds the pod, and the bytes go to
// that pod's address unchanged (TLS ends at the vcluster, which proves its certificate covers the
// per-PR host). Listens on 127.0.0.1: what PRENV_VCLUSTER_API_ADDRESS is set to in the tests.
import { NetworkingV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { connect, createServer, type Server, type Socket } from "node:net";

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

export interface Passthrough {
  /** `127.0.0.1:<port>`. */
  address: string;
  close(): Promise<void>;
}

/**
 * Routes by SNI to `podAddress(namespace, podLabels)` of the pod behind the passthrough Ingress
 * for that host (its Service's selector decides which pod, its targetPort which port).
 */
export async function startPassthrough(
  admin: KubeConfig,
  podAddress: (namespace: string, selector: Record<string, string>) => string | null,
): Promise<Passthrough> {
  const net = admin.makeApiClient(NetworkingV1Api);
  const core = admin.makeApiClient(CoreV1Api);

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
      const ip = podAddress(namespace, svc.spec?.selector ?? {});
      if (!ip || typeof port?.targetPort !== "number") return null;
      return { ip, port: port.targetPort };
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
      backend(name).then(
        (to) => {
          if (!to) return void client.destroy();
          const upstream = connect(to.port, to.ip, () => {
            upstream.write(hello);
            client.pipe(upstream).pipe(client);
            client.resume();
          });
          sockets.add(upstream);
          upstream.on("close", () => {
            sockets.delete(upstream);
            client.destroy();
          });
          upstream.on("error", () => client.destroy());
          client.on("close", () => upstream.destroy());
        },
        () => client.destroy(),
      );
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
