// The qunbus contract, read from the generated JSON Schemas (schemas/json/*.json): no Python involved.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import Ajv2020Module, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

// ajv and ajv-formats are CommonJS modules: their default export arrives wrapped under ESM.
const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export const SCHEMA_VERSION = 1;

export const subjects = {
  message: (bot = "*") => `qun.evt.${bot}.message`,
  say: (bot: string) => `qun.cmd.${bot}.say`,
  deadLetter: (service: string) => `qun.dlq.${service}`,
  discover: "qun.svc.discover",
  changed: "qun.svc.changed",
  botOf: (subject: string) => subject.split(".")[2] ?? "",
};

export const streams = { events: "QUN_EVT" };

export interface MessageReceived {
  id: string;
  bot_id: string;
  timestamp: string;
  talker: { id: string; name: string };
  room?: { id: string; topic?: string } | null;
  text: string;
  body?: string;
  mentions_bot?: boolean;
  from_self?: boolean;
  schema_version?: number;
}

export interface ChatCommand {
  name: string;
  keywords_zh: string[];
  keywords_en: string[];
  usage_zh: string;
  usage_en: string;
  needs_mention: boolean;
  admin_only: boolean;
  rooms_only: boolean;
  examples_zh: string[];
  examples_en: string[];
}

export interface ServiceInfo {
  schema_version: number;
  name: string;
  version: string;
  instance: string;
  title_zh: string;
  title_en: string;
  summary_zh: string;
  summary_en: string;
  internal: boolean;
  claims: boolean;
  commands: ChatCommand[];
}

export interface SayText {
  schema_version: number;
  id: string;
  room_id: string | null;
  contact_id: string | null;
  text: string;
  mention_ids: string[];
  reply_to: string | null;
}

export interface DeadLettered {
  schema_version: number;
  service: string;
  subject: string;
  payload: string;
  payload_sha256: string;
  payload_bytes: number;
  truncated: boolean;
  redacted: boolean;
  error: string;
  deliveries: number;
  stream_sequence: number | null;
  failed_at: string;
}

export type Schema = "MessageReceived" | "SayText" | "ServiceInfo" | "DeadLettered";

export class Contract {
  private readonly validators = new Map<Schema, ValidateFunction>();

  constructor(directory: string = Contract.defaultDirectory()) {
    const ajv = new Ajv2020({ allErrors: false, strict: false });
    addFormats(ajv);
    for (const name of ["MessageReceived", "SayText", "ServiceInfo", "DeadLettered"] as const) {
      const schema = JSON.parse(readFileSync(`${directory}/${name}.json`, "utf8")) as object;
      this.validators.set(name, ajv.compile(schema));
    }
  }

  /** schemas/json of this repository (or QUN_SCHEMAS_DIR), from dist/ or src/. */
  static defaultDirectory(): string {
    return process.env.QUN_SCHEMAS_DIR ?? fileURLToPath(new URL("../../../schemas/json", import.meta.url));
  }

  /** null when `value` is a valid `schema`, else why not. */
  problem(schema: Schema, value: unknown): string | null {
    const validate = this.validators.get(schema);
    if (validate === undefined) {
      throw new Error(`no schema ${schema}`);
    }
    return validate(value) ? null : describeErrors(validate.errors ?? []);
  }

  /** `value` itself, once valid as `schema`; throws otherwise (for what this service sends). */
  checked<T>(schema: Schema, value: T): T {
    const problem = this.problem(schema, value);
    if (problem !== null) {
      throw new Error(`${schema} breaks its schema: ${problem}`);
    }
    return value;
  }
}

function describeErrors(errors: ErrorObject[]): string {
  return errors
    .slice(0, 5)
    .map((error) => `${error.instancePath || "/"} ${error.message ?? "is invalid"}`)
    .join("; ");
}

/** Full-width and half-width alike (NFKC), case-insensitive, single spaces: what the plumbing matches keywords on. */
export function normalize(text: string): string {
  return text.normalize("NFKC").toLowerCase().split(/\s+/).filter(Boolean).join(" ");
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

function isWordChar(char: string): boolean {
  return /[\p{L}\p{N}]/u.test(char) && !CJK.test(char);
}

/** The arguments after `command`'s keyword when `body` starts with one (the longest keyword wins), else null. An ASCII
 * keyword must end at a word boundary; a Chinese one need not. */
export function matchCommand(body: string, command: ChatCommand): string | null {
  const normalized = normalize(body);
  const keywords = [...command.keywords_zh, ...command.keywords_en].sort((a, b) => b.length - a.length);
  for (const keyword of keywords) {
    const key = normalize(keyword);
    if (!key || !normalized.startsWith(key)) {
      continue;
    }
    const rest = normalized.slice(key.length);
    if (rest && isWordChar(key.at(-1) ?? "") && isWordChar(rest[0] ?? "")) {
      continue;
    }
    return rest.replace(/^[\s:：,，]+/, "").trim();
  }
  return null;
}
