// dice: a qunbus service in TypeScript. It reads MessageReceived from its own durable JetStream consumer, checks
// every event against the generated JSON Schema (dead-letters what breaks it, as the Python services do), answers
// `掷骰子 2d6` / `roll d20` with a SayText on qun.cmd.<bot>.say (Nats-Msg-Id = its id, so a redelivered event
// re-sends nothing), and answers the registry (qun.svc.discover) so that help lists it.
//
//   NATS_URL=nats://127.0.0.1:4222 node dist/main.js      (after `npm ci && npm run build`)

import { createHash, randomBytes, randomInt } from "node:crypto";

import {
  AckPolicy,
  connect,
  DeliverPolicy,
  type JsMsg,
  type NatsConnection,
  type NatsError,
  nanos,
} from "nats";

import {
  type ChatCommand,
  Contract,
  type DeadLettered,
  type MessageReceived,
  matchCommand,
  SCHEMA_VERSION,
  type SayText,
  type ServiceInfo,
  streams,
  subjects,
} from "./contract.js";
import { describe, languageOf, parse, roll, USAGE } from "./dice.js";

const NAME = "dice";
const VERSION = "1.0.0";
const MAX_DELIVER = Number(process.env.QUN_MAX_DELIVER ?? 5);
const MAX_DEAD_LETTER_PAYLOAD = 64 * 1024;
const CONSUMER_NOT_FOUND = 10014;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const ROLL: ChatCommand = {
  name: "roll",
  keywords_zh: ["掷骰子", "骰子"],
  keywords_en: ["roll", "dice"],
  usage_zh: "掷骰子 [2d6] — 掷骰子，默认一个六面骰",
  usage_en: "roll [2d6] — roll dice, one six-sided die by default",
  needs_mention: true,
  admin_only: false,
  rooms_only: false,
  examples_zh: ["掷骰子 2d6", "骰子 d20+3"],
  examples_en: ["roll 2d6", "dice d20+3"],
};

function log(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ service: NAME, event, ...fields })}\n`);
}

class Permanent extends Error {}

export class DiceService {
  readonly info: ServiceInfo;

  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
  ) {
    this.info = contract.checked("ServiceInfo", {
      schema_version: SCHEMA_VERSION,
      name: NAME,
      version: VERSION,
      instance: `${NAME}-${randomBytes(4).toString("hex")}`,
      title_zh: "骰子",
      title_en: "dice",
      summary_zh: "掷骰子（TypeScript 写的服务）",
      summary_en: "Rolls dice (a service written in TypeScript)",
      internal: false,
      claims: false, // keyword commands only: it takes no part in the claims for plain-worded messages
      commands: [ROLL],
    });
  }

  async start(): Promise<AsyncIterable<JsMsg> & { stop(): void }> {
    this.nc.subscribe(subjects.discover, {
      callback: (_error, message) => message.respond(encoder.encode(JSON.stringify(this.info))),
    });
    await this.ensureConsumer();
    const consumer = await this.nc.jetstream().consumers.get(streams.events, NAME);
    const messages = await consumer.consume({ max_messages: 32 });
    this.nc.publish(subjects.changed, encoder.encode(JSON.stringify(this.info))); // help knows it at once
    log("started", { instance: this.info.instance });
    return messages;
  }

  /** Outside production (where provisioning creates it) the service creates its own durable consumer. */
  private async ensureConsumer(): Promise<void> {
    const manager = await this.nc.jetstreamManager();
    try {
      await manager.consumers.info(streams.events, NAME);
    } catch (error) {
      if ((error as NatsError).api_error?.err_code !== CONSUMER_NOT_FOUND) {
        throw error;
      }
      await manager.consumers.add(streams.events, {
        durable_name: NAME,
        filter_subject: subjects.message(),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        max_deliver: MAX_DELIVER,
        ack_wait: nanos(30_000),
      });
    }
  }

  /** One delivery: acked only once its reply is stored by JetStream (or its dead letter is). */
  async handle(message: JsMsg): Promise<void> {
    try {
      const event = this.decode(message);
      await this.answer(event);
      message.ack();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const deliveries = message.info.redeliveryCount;
      if (error instanceof Permanent || deliveries >= MAX_DELIVER) {
        await this.deadLetter(message, reason);
        message.ack();
      } else {
        log("failed, retrying", { reason, deliveries });
        message.nak(1000 * 2 ** (deliveries - 1));
      }
    }
  }

  private decode(message: JsMsg): MessageReceived {
    let raw: unknown;
    try {
      raw = JSON.parse(decoder.decode(message.data));
    } catch (error) {
      throw new Permanent(`invalid payload: not JSON: ${(error as Error).message}`);
    }
    const version = (raw as { schema_version?: unknown } | null)?.schema_version ?? SCHEMA_VERSION;
    if (version !== SCHEMA_VERSION) {
      throw new Permanent(`invalid payload: unknown schema_version ${JSON.stringify(version)}`);
    }
    const problem = this.contract.problem("MessageReceived", raw);
    if (problem !== null) {
      throw new Permanent(`invalid payload: ${problem}`);
    }
    return raw as MessageReceived;
  }

  private async answer(event: MessageReceived): Promise<void> {
    const addressed = !event.room || event.mentions_bot === true;
    const args = event.from_self ? null : matchCommand(event.body ?? event.text, ROLL);
    if (args === null || (!addressed && ROLL.needs_mention)) {
      return;
    }
    const lang = languageOf(event.body ?? event.text);
    const spec = parse(args);
    const text = spec === null ? USAGE[lang] : describe(roll(spec, (sides) => randomInt(1, sides + 1)), lang);
    const say: SayText = this.contract.checked("SayText", {
      schema_version: SCHEMA_VERSION,
      id: commandId(event.id),
      room_id: event.room ? event.room.id : null,
      contact_id: event.room ? null : event.talker.id,
      text,
      mention_ids: event.room ? [event.talker.id] : [],
      reply_to: event.id,
    });
    await this.nc.jetstream().publish(subjects.say(event.bot_id), encoder.encode(JSON.stringify(say)), {
      msgID: say.id,
    });
  }

  private async deadLetter(message: JsMsg, error: string): Promise<void> {
    const text = decoder.decode(message.data);
    let direct = false;
    try {
      direct = (JSON.parse(text) as { room?: unknown }).room === null; // a direct message may hold a password
    } catch {
      direct = false;
    }
    const letter: DeadLettered = this.contract.checked("DeadLettered", {
      schema_version: SCHEMA_VERSION,
      service: NAME,
      subject: message.subject,
      payload: direct ? "" : text.slice(0, MAX_DEAD_LETTER_PAYLOAD),
      payload_sha256: createHash("sha256").update(message.data).digest("hex"),
      payload_bytes: message.data.length,
      truncated: !direct && text.length > MAX_DEAD_LETTER_PAYLOAD,
      redacted: direct,
      error: error.slice(0, 2000),
      deliveries: message.info.redeliveryCount,
      stream_sequence: message.seq,
      failed_at: new Date().toISOString(),
    });
    await this.nc.jetstream().publish(subjects.deadLetter(NAME), encoder.encode(JSON.stringify(letter)), {
      msgID: `${NAME}:${message.subject}:${message.seq}`,
    });
    log("dead-lettered", { subject: message.subject, sequence: message.seq, error: letter.error });
  }

  async stop(): Promise<void> {
    this.nc.publish(subjects.changed, new Uint8Array()); // registries look again
    await this.nc.drain();
  }
}

/** The same event always makes the same command id, so a redelivery is dropped by JetStream and the gateway. */
function commandId(eventId: string): string {
  return createHash("sha256").update(`${NAME}\0${eventId}\0say`).digest("hex").slice(0, 32);
}

async function main(): Promise<void> {
  const user = process.env.NATS_USER || undefined;
  const nc = await connect({
    servers: (process.env.NATS_URL ?? "nats://127.0.0.1:4222").split(",").map((url) => url.trim()),
    user,
    pass: process.env.NATS_PASSWORD || undefined,
    inboxPrefix: user ? `_INBOX.${user}` : undefined,
    name: NAME,
  });
  const service = new DiceService(nc, new Contract());
  const messages = await service.start();
  let stopping = false;
  const stop = (): void => {
    if (!stopping) {
      stopping = true;
      messages.stop();
    }
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  for await (const message of messages) {
    await service.handle(message);
  }
  await service.stop();
  log("stopped");
}

main().catch((error: unknown) => {
  log("crashed", { error: String(error) });
  process.exit(1);
});
