// The cluster tier's TLS passthrough routes by the server name of a real ClientHello (Node's own).
import { createServer, type Server } from "node:net";
import { connect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { serverName } from "../../cluster/harness/passthrough.js";

let server: Server | undefined;
afterEach(() => server?.close());

/** The first bytes a TLS client sends for `servername` (undefined: none). */
async function clientHello(servername?: string): Promise<Buffer> {
  const first = new Promise<Buffer>((resolve) => {
    server = createServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server!.address() as { port: number };
  const client = connect({ host: "127.0.0.1", port, ...(servername ? { servername } : {}) });
  client.on("error", () => undefined);
  const hello = await first;
  client.destroy();
  return hello;
}

describe("serverName", () => {
  it("reads the host name of a ClientHello", async () => {
    const host = "pr-12-acme-web-1a2b3c.api.preview.test";
    expect(serverName(await clientHello(host))).toBe(host);
  });

  it("waits for the rest of a record cut short, and finds no name where none is sent", async () => {
    const hello = await clientHello("x.api.preview.test");
    expect(serverName(hello.subarray(0, 3))).toBeUndefined();
    expect(serverName(hello.subarray(0, hello.length - 1))).toBeUndefined();
    expect(serverName(Buffer.from("GET / HTTP/1.1\r\n\r\n"))).toBeNull();
    // To an IP address without a server name, Node sends no SNI.
    server?.close();
    expect(serverName(await clientHello())).toBeNull();
  });
});
