// osls plugin for `npm run offline` (scripts/offline.sh): the SQS event source that
// serverless-offline lacks, plus the offline environment. Configured by `custom.prenvOffline` in
// serverless.yml; it hooks only `osls offline`, so package and deploy never run it.
//
// - Environment: before serverless-offline builds the functions, sets
//   `custom.prenvOffline.environment` over provider.environment and over the functions' own
//   variables of those names (the local queue URL instead of `!Ref JobsQueue`, no Secrets
//   Manager, no EKS) and copies the variables listed in
//   `passEnvironment` from this process's environment when they are set. A CloudFormation
//   expression left in a function's environment stops the start with the variable's name.
// - SQS: for every `sqs` event, polls the queue on `custom.prenvOffline.sqs.endpoint` (ElasticMQ)
//   and invokes the function through serverless-offline's Lambda Invoke API (lambdaPort), with
//   the event Lambda would send. Like Lambda's event source mapping: up to `maximumConcurrency`
//   batches in flight (FIFO queues never hand out two batches of one message group at a time),
//   at most `batchSize` (<= 10) messages per batch, all messages deleted after a successful
//   invocation except those the function lists in `batchItemFailures` (with
//   `functionResponseType: ReportBatchItemFailures`), none deleted after an error, a timeout or
//   an invalid batch response. Undeleted messages come back after the queue's visibility timeout
//   (1 h for prenv's queue, as on AWS) or, with `sqs.retryDelaySeconds`, after that many seconds;
//   the queue's redrive policy moves them to the dead-letter queue in the end.
// - Schedules: `schedules: off` disables `schedule` events (serverless-offline runs them
//   otherwise); a function can always be invoked on demand through the Invoke API.
//
// On `offline start`'s end (Ctrl-C, SIGTERM) polling stops and the messages of batches still
// running are made visible again, so the next start picks them up.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { Buffer } from "node:buffer";
import console from "node:console";
import http from "node:http";
import net from "node:net";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";
import { URL } from "node:url";

const LONG_POLL_SECONDS = 5; // also the longest wait on stop
const ERROR_BACKOFF_MS = 5_000;
const QUEUE_LOOKUP_ATTEMPTS = 10;

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export default class PrenvOfflineSqs {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.options = options;
    this.log = utils?.log ?? console;
    this.prepared = false;
    this.stopping = new globalThis.AbortController();
    this.loops = [];
    /** batches received or running when stopping began, released once every poll has ended */
    this.unfinished = [];
    this.hooks = {
      // `osls offline start` (what scripts/offline.sh runs)
      "before:offline:start:init": () => this.prepare(),
      "after:offline:start:init": () => this.startPolling(),
      "before:offline:start:end": () => this.stopPolling(),
      // `osls offline`: serverless-offline starts, waits and exits in one step
      "before:offline:start": () => {
        this.prepare();
        return this.startPolling();
      },
    };
  }

  config() {
    return this.serverless.service.custom?.prenvOffline ?? {};
  }

  offlineOption(name, fallback) {
    return this.options[name] ?? this.serverless.service.custom?.["serverless-offline"]?.[name] ?? fallback;
  }

  prepare() {
    if (this.prepared) return;
    this.prepared = true;
    const cfg = this.config();
    const env = (this.serverless.service.provider.environment ??= {});
    Object.assign(env, cfg.environment ?? {});
    // A function's own variable of the same name (e.g. its secret id) gives way too.
    for (const key of this.serverless.service.getAllFunctions()) {
      const own = this.serverless.service.getFunction(key).environment ?? {};
      for (const name of Object.keys(cfg.environment ?? {}))
        if (name in own) own[name] = cfg.environment[name];
    }
    for (const name of cfg.passEnvironment ?? []) {
      if (process.env[name]) env[name] = process.env[name];
    }
    this.checkEnvironment();
    if (String(cfg.schedules ?? "on") === "off") this.disableSchedules();
  }

  /** serverless-offline passes CloudFormation expressions on as objects: refuse them. */
  checkEnvironment() {
    const service = this.serverless.service;
    const unresolved = [];
    const check = (where, vars) => {
      for (const [name, value] of Object.entries(vars ?? {})) {
        if (value !== null && typeof value === "object") unresolved.push(`${where}.${name}`);
      }
    };
    check("provider.environment", service.provider.environment);
    for (const key of service.getAllFunctions()) {
      check(`functions.${key}.environment`, service.getFunction(key).environment);
    }
    if (unresolved.length > 0) {
      throw new this.serverless.classes.Error(
        `offline: ${unresolved.join(", ")} is a CloudFormation expression, which only a deploy resolves; ` +
          "give it a value for offline runs under custom.prenvOffline.environment in serverless.yml",
      );
    }
  }

  disableSchedules() {
    const service = this.serverless.service;
    for (const key of service.getAllFunctions()) {
      for (const event of service.getFunction(key).events ?? []) {
        if (!event.schedule) continue;
        if (typeof event.schedule === "string") event.schedule = { rate: [event.schedule] };
        event.schedule.enabled = false;
      }
    }
  }

  /** The `sqs` events of all functions, with what polling needs. */
  sqsEvents() {
    const service = this.serverless.service;
    const found = [];
    for (const key of service.getAllFunctions()) {
      const fn = service.getFunction(key);
      for (const event of fn.events ?? []) {
        if (!event.sqs) continue;
        const sqs = typeof event.sqs === "string" ? { arn: event.sqs } : event.sqs;
        if (sqs.enabled === false) continue;
        found.push({
          functionKey: key,
          functionName: fn.name,
          queueName: this.queueName(key, sqs.arn),
          batchSize: Math.min(Number(sqs.batchSize ?? 10), 10),
          reportBatchItemFailures: sqs.functionResponseType === "ReportBatchItemFailures",
          concurrency: Math.max(1, Number(sqs.maximumConcurrency ?? 2)),
        });
      }
    }
    return found;
  }

  queueName(functionKey, arn) {
    if (typeof arn === "string") return arn.split(":").pop();
    const getAtt = arn?.["Fn::GetAtt"];
    if (Array.isArray(getAtt) && getAtt[1] === "Arn") {
      const name = this.serverless.service.resources?.Resources?.[getAtt[0]]?.Properties?.QueueName;
      if (typeof name === "string") return name;
    }
    throw new this.serverless.classes.Error(
      `offline: cannot tell which queue the sqs event of function '${functionKey}' reads (${JSON.stringify(arn)}); ` +
        "use an ARN or Fn::GetAtt [<queue resource with a QueueName>, Arn]",
    );
  }

  async startPolling() {
    this.prepare();
    if (this.loops.length > 0) return;
    const events = this.sqsEvents();
    if (events.length === 0) return;
    const endpoint = this.config().sqs?.endpoint;
    if (!endpoint) {
      throw new this.serverless.classes.Error(
        "offline: set custom.prenvOffline.sqs.endpoint (ElasticMQ's URL)",
      );
    }
    const region = this.serverless.service.provider.region ?? "us-east-1";
    this.sqs = new SQSClient({
      region,
      endpoint,
      // ElasticMQ accepts any key; never a real account's.
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const retry = this.config().sqs?.retryDelaySeconds;
    this.retryDelaySeconds =
      retry === undefined || retry === null || retry === "" ? undefined : Number(retry);
    const host = this.offlineOption("host", "localhost");
    this.lambdaEndpoint = {
      host: host === "0.0.0.0" ? "127.0.0.1" : host,
      port: Number(this.offlineOption("lambdaPort", 3002)),
    };
    for (const event of events) {
      const queueUrl = await this.queueUrl(event.queueName, endpoint);
      const account = new URL(queueUrl).pathname.split("/")[1] || "000000000000";
      const source = {
        ...event,
        queueUrl,
        arn: `arn:aws:sqs:${region}:${account}:${event.queueName}`,
        region,
      };
      this.log.notice(
        `offline sqs: ${event.queueName} → ${event.functionKey} (batch ${event.batchSize}, ` +
          `up to ${event.concurrency} at once${event.reportBatchItemFailures ? ", partial batch failures" : ""})`,
      );
      for (let i = 0; i < event.concurrency; i++) this.loops.push(this.poll(source));
    }
  }

  async queueUrl(queueName, endpoint) {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
        return res.QueueUrl;
      } catch (err) {
        if (attempt >= QUEUE_LOOKUP_ATTEMPTS || this.stopping.signal.aborted) {
          throw new this.serverless.classes.Error(
            `offline: queue ${queueName} not found at ${endpoint} (${err.name ?? err}); ` +
              "is ElasticMQ running with it (bash scripts/elasticmq.sh start)?",
          );
        }
        await sleep(1_000, this.stopping.signal);
      }
    }
  }

  async poll(source) {
    const signal = this.stopping.signal;
    await this.waitForLambdaPort(signal);
    while (!signal.aborted) {
      let messages;
      try {
        // Not aborted on stop: ElasticMQ would still hand messages to an abandoned long poll,
        // where they would stay invisible for the visibility timeout. Stopping waits for it.
        const res = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: source.queueUrl,
            MaxNumberOfMessages: source.batchSize,
            WaitTimeSeconds: LONG_POLL_SECONDS,
            MessageSystemAttributeNames: ["All"],
            MessageAttributeNames: ["All"],
          }),
        );
        messages = res.Messages ?? [];
      } catch (err) {
        if (signal.aborted) break;
        this.log.warning(`offline sqs: receiving from ${source.queueName} failed: ${err.message ?? err}`);
        await sleep(ERROR_BACKOFF_MS, signal);
        continue;
      }
      if (messages.length === 0) continue;
      try {
        if (!signal.aborted) await this.runBatch(source, messages);
      } catch (err) {
        this.log.warning(`offline sqs: ${source.functionKey} batch: ${err.message ?? err}`);
      }
      if (signal.aborted) this.unfinished.push({ source, messages });
    }
  }

  async runBatch(source, messages) {
    const event = { Records: messages.map((m) => this.record(source, m)) };
    const ids = messages.map((m) => m.MessageId);
    const groups = [...new Set(messages.map((m) => m.Attributes?.MessageGroupId).filter(Boolean))];
    this.log.notice(
      `offline sqs: ${source.queueName} → ${source.functionKey}: ${messages.length} message(s)` +
        (groups.length > 0 ? ` (group ${groups.join(", ")})` : ""),
    );
    const outcome = await this.invoke(source, event);
    if (this.stopping.signal.aborted) return; // stopPolling() releases the batch
    let failed;
    if (!outcome.ok) {
      this.log.warning(
        `offline sqs: ${source.functionKey} failed, the whole batch stays queued: ${outcome.error}`,
      );
      failed = ids;
    } else if (!source.reportBatchItemFailures) {
      failed = [];
    } else {
      failed = this.failedIds(outcome.payload, ids);
      if (failed === undefined) {
        this.log.warning(
          `offline sqs: ${source.functionKey} returned an invalid batch response, the whole batch stays queued: ` +
            JSON.stringify(outcome.payload),
        );
        failed = ids;
      }
    }
    const done = messages.filter((m) => !failed.includes(m.MessageId));
    const kept = messages.filter((m) => failed.includes(m.MessageId));
    if (done.length > 0) {
      const res = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: source.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      for (const f of res.Failed ?? [])
        this.log.warning(`offline sqs: delete failed: ${f.Message ?? f.Code}`);
    }
    if (kept.length > 0 && this.retryDelaySeconds !== undefined) {
      await this.changeVisibility(
        source.queueUrl,
        kept.map((m) => m.ReceiptHandle),
        this.retryDelaySeconds,
      );
    }
    this.log.notice(
      `offline sqs: ${source.functionKey}: ${done.length} deleted` +
        (kept.length > 0
          ? `, ${kept.length} left for retry (${this.retryDelaySeconds === undefined ? "after the queue's visibility timeout" : `in ${this.retryDelaySeconds} s`})`
          : ""),
    );
  }

  /**
   * The ids a ReportBatchItemFailures response names; undefined when Lambda would treat the
   * response as invalid (and so the whole batch as failed).
   */
  failedIds(payload, ids) {
    if (payload === null || payload === undefined || payload === "") return [];
    if (typeof payload !== "object") return undefined;
    const failures = payload.batchItemFailures;
    if (failures === null || failures === undefined) return [];
    if (!Array.isArray(failures)) return undefined;
    const failed = [];
    for (const f of failures) {
      const id = f?.itemIdentifier;
      if (typeof id !== "string" || !ids.includes(id)) return undefined;
      failed.push(id);
    }
    return failed;
  }

  /** An SQS message as a Lambda SQS event record. */
  record(source, m) {
    const record = {
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body,
      attributes: { ...m.Attributes },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([name, a]) => [
          name,
          {
            stringValue: a.StringValue,
            binaryValue: a.BinaryValue ? Buffer.from(a.BinaryValue).toString("base64") : undefined,
            stringListValues: a.StringListValues ?? [],
            binaryListValues: (a.BinaryListValues ?? []).map((b) => Buffer.from(b).toString("base64")),
            dataType: a.DataType,
          },
        ]),
      ),
      md5OfBody: m.MD5OfBody,
      eventSource: "aws:sqs",
      eventSourceARN: source.arn,
      awsRegion: source.region,
    };
    if (m.MD5OfMessageAttributes) record.md5OfMessageAttributes = m.MD5OfMessageAttributes;
    return record;
  }

  /** One synchronous invocation through serverless-offline's Lambda Invoke API. */
  invoke(source, event) {
    const body = JSON.stringify(event);
    return new Promise((resolve) => {
      const req = http.request(
        {
          ...this.lambdaEndpoint,
          method: "POST",
          path: `/2015-03-31/functions/${encodeURIComponent(source.functionName)}/invocations`,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "x-amz-invocation-type": "RequestResponse",
          },
          agent: false,
          signal: this.stopping.signal,
        },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("error", (err) => resolve({ ok: false, error: err.message }));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let payload = text;
            try {
              payload = text === "" ? undefined : JSON.parse(text);
            } catch {
              // not JSON: kept as text
            }
            if (res.statusCode !== 200 || res.headers["x-amz-function-error"]) {
              const message =
                payload && typeof payload === "object"
                  ? (payload.errorMessage ?? payload.Message ?? JSON.stringify(payload))
                  : text;
              resolve({ ok: false, error: `${res.statusCode}: ${message}` });
            } else {
              resolve({ ok: true, payload });
            }
          });
        },
      );
      req.on("error", (err) => resolve({ ok: false, error: err.message }));
      req.end(body);
    });
  }

  async waitForLambdaPort(signal) {
    const { host, port } = this.lambdaEndpoint;
    while (!signal.aborted) {
      const open = await new Promise((resolve) => {
        const socket = net.connect({ host, port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      });
      if (open) return;
      await sleep(250, signal);
    }
  }

  async changeVisibility(queueUrl, receiptHandles, seconds) {
    for (let i = 0; i < receiptHandles.length; i += 10) {
      const res = await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: receiptHandles.slice(i, i + 10).map((h, j) => ({
            Id: String(j),
            ReceiptHandle: h,
            VisibilityTimeout: seconds,
          })),
        }),
      );
      for (const f of res.Failed ?? [])
        this.log.warning(`offline sqs: visibility change failed: ${f.Message ?? f.Code}`);
    }
  }

  async stopPolling() {
    if (this.stopping.signal.aborted) return;
    // Ends running invocations and idle waits; receives in progress finish within LONG_POLL_SECONDS.
    this.stopping.abort();
    await Promise.allSettled(this.loops);
    // Only now, with no receive pending anywhere: a released message must not go to another poll.
    for (const { source, messages } of this.unfinished) {
      try {
        await this.changeVisibility(
          source.queueUrl,
          messages.map((m) => m.ReceiptHandle),
          0,
        );
        this.log.notice(`offline sqs: ${messages.length} unfinished message(s) made visible again`);
      } catch (err) {
        this.log.warning(`offline sqs: could not release unfinished messages: ${err.message ?? err}`);
      }
    }
    // serverless-esbuild keeps its esbuild contexts (and esbuild's service process) for rebuilds
    // and disposes them only after packaging; left alone, esbuild reports a deadlock on exit.
    for (const plugin of this.serverless.pluginManager.plugins) {
      if (plugin !== this && typeof plugin.disposeContexts === "function") {
        await plugin.disposeContexts().catch(() => undefined);
      }
    }
  }
}
