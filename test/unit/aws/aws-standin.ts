/**
 * A small HTTP stand-in for AWS service endpoints on 127.0.0.1, for running the real AWS SDK
 * clients in unit tests. It records every call and answers with whatever the test's handler says;
 * a call the handler does not expect gets a 501 so the SDK fails loudly.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCall {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StandInReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface AwsStandIn {
  /** `http://127.0.0.1:<port>`, for the client's `endpoint`. */
  endpoint: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

export type StandInHandler = (call: RecordedCall) => StandInReply | undefined;

export async function startAwsStandIn(handler: StandInHandler): Promise<AwsStandIn> {
  const calls: RecordedCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const call: RecordedCall = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      calls.push(call);
      const reply = handler(call) ?? {
        status: 501,
        body: { __type: "UnexpectedCall", message: `stand-in did not expect ${call.method} ${call.path}` },
      };
      res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

/** Static, obviously fake credentials for SDK clients pointed at a stand-in. */
export const FAKE_CREDENTIALS = { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" };
