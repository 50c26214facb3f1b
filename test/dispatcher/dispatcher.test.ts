import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { TelegramChannel } from "../../src/channels/telegram.js";
import type { Course } from "../../src/content/model.js";
import { openDatabase, type OpenDatabase } from "../../src/db/database.js";
import { Dispatcher, type DispatcherOptions } from "../../src/dispatcher.js";
import { handleInbound } from "../../src/engine/engine.js";
import type { EngineContext } from "../../src/engine/types.js";
import { loadLocales } from "../../src/i18n.js";
import { Store, type Lane } from "../../src/store.js";
import { startBotApiStandIn, type BotApiStandIn, type RateLimits } from "../support/bot-api-stand-in.js";
import { loadValidCourse, moduleOneContent, projectRoot, strictContext } from "../support/context.js";

const token = "123456789:AAE-dispatcher-stand-in_0789";
let course: Course;
let context: EngineContext;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  course = loadValidCourse(moduleOneContent());
  context = strictContext(course);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  standIn: BotApiStandIn;
  store: Store;
  database: OpenDatabase;
  dispatcher: Dispatcher;
  enqueue: (address: string, text: string, lane?: Lane) => number;
}

async function setup(options: { limits?: Partial<RateLimits>; chatIntervalMs?: number; globalPerSecond?: number; dispatcher?: Partial<DispatcherOptions> } = {}): Promise<Harness> {
  const standIn = await startBotApiStandIn({ token, ...(options.limits ? { limits: options.limits } : {}) });
  cleanups.push(() => standIn.close());
  const database = openDatabase(join(mkdtempSync(join(tmpdir(), "waypoints-dispatch-")), "db.sqlite"));
  cleanups.push(() => database.close());
  const store = new Store(database.db, course);
  const logger = pino({ level: "silent" });
  const telegram = new TelegramChannel({
    token,
    apiRoot: standIn.apiRoot,
    logger,
    locales: loadLocales(join(projectRoot, "locales")),
    onInbound: async () => undefined,
    perChatIntervalMs: options.chatIntervalMs ?? 0,
    globalPerSecond: options.globalPerSecond ?? 30,
  });
  const dispatcher = new Dispatcher({
    store,
    senders: [telegram],
    logger,
    backoffMs: 50,
    idleMs: 20,
    onUnreachable: (channel, address) => store.markUnreachable(channel, address, Date.now()),
    ...options.dispatcher,
  });
  cleanups.push(() => dispatcher.stop());
  const enqueue = (address: string, text: string, lane: Lane = "reply") => {
    standIn.openChat(Number(address));
    return store.enqueue(store.db, null, "telegram", address, [{ text }], lane, Date.now())[0]!;
  };
  return { standIn, store, database, dispatcher, enqueue };
}

function statusOf(harness: Harness, id: number): { status: string; attempts: number; error: string | null } {
  return harness.database.sqlite.prepare("select status, attempts, error from outbox where id = ?").get(id) as { status: string; attempts: number; error: string | null };
}

describe("dispatcher", () => {
  it("keeps each chat's messages in order", async () => {
    const harness = await setup();
    for (let index = 1; index <= 5; index++) {
      harness.enqueue("501", `a${index}`);
      harness.enqueue("502", `b${index}`, index % 2 ? "reply" : "bulk");
    }
    harness.dispatcher.start();
    await harness.standIn.waitFor(() => harness.standIn.messages(501).length === 5 && harness.standIn.messages(502).length === 5);
    expect(harness.standIn.messages(501).map((message) => message.text)).toEqual(["a1", "a2", "a3", "a4", "a5"]);
    // Within a chat, replies go before bulk; each lane keeps its own order.
    expect(harness.standIn.messages(502).map((message) => message.text)).toEqual(["b1", "b3", "b5", "b2", "b4"]);
  });

  it("sends a reply ahead of a bulk send", async () => {
    const harness = await setup({ limits: { globalPerSecond: 30, globalBurst: 30, perChatPerSecond: Infinity, perChatBurst: Infinity } });
    for (let chat = 0; chat < 90; chat++) harness.enqueue(String(1000 + chat), `bulk ${chat}`, "bulk");
    harness.dispatcher.start();
    await harness.standIn.waitFor(() => harness.standIn.stats().sent >= 10);
    const reply = harness.enqueue("999", "reply to a waiting learner");
    harness.dispatcher.kick();
    await harness.standIn.waitFor(() => harness.standIn.messages(999).length === 1, { timeoutMs: 5000 });
    const bulkSentBefore = harness.standIn.stats().sent - 1;
    await harness.standIn.waitFor(() => statusOf(harness, reply).status === "sent");
    expect(bulkSentBefore).toBeLessThan(60);
    await harness.standIn.waitFor(() => harness.standIn.stats().sent === 91, { timeoutMs: 10_000 });
    expect(harness.standIn.stats().tooManyRequests).toBe(0);
  });

  it("waits out a 429 for its retry_after", async () => {
    const harness = await setup();
    harness.standIn.failNext("sendMessage", 1, { status: 429, description: "Too Many Requests: retry after 1", retryAfter: 1 });
    const id = harness.enqueue("503", "after the wait");
    const started = Date.now();
    harness.dispatcher.start();
    await harness.standIn.waitFor(() => harness.standIn.messages(503).length === 1, { timeoutMs: 5000 });
    const calls = harness.standIn.calls(503).filter((call) => call.method === "sendMessage");
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    await harness.standIn.waitFor(() => statusOf(harness, id).status === "sent");
    expect(statusOf(harness, id)).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("retries a 5xx, then delivers", async () => {
    const harness = await setup();
    harness.standIn.failNext("sendMessage", 2, { status: 502, description: "Bad Gateway" });
    const id = harness.enqueue("504", "third time");
    harness.dispatcher.start();
    await harness.standIn.waitFor(() => statusOf(harness, id).status === "sent", { timeoutMs: 5000 });
    expect(harness.standIn.messages(504)).toHaveLength(1);
    expect(statusOf(harness, id)).toMatchObject({ status: "sent", attempts: 3 });
  });

  it("marks a message failed after the configured attempts", async () => {
    const harness = await setup({ dispatcher: { maxAttempts: 3 } });
    harness.standIn.failNext("sendMessage", 5, { status: 500 });
    const id = harness.enqueue("505", "never");
    harness.dispatcher.start();
    await harness.standIn.waitFor(() => statusOf(harness, id).status === "failed", { timeoutMs: 5000 });
    expect(statusOf(harness, id)).toEqual({ status: "failed", attempts: 3, error: "sendMessage: 500 Internal Server Error" });
    expect(harness.standIn.calls(505).filter((call) => call.method === "sendMessage")).toHaveLength(3);
  });

  it("stops sending to a learner who blocked the bot", async () => {
    const harness = await setup();
    const inbound = { type: "command" as const, command: "start", args: "" };
    harness.store.processInbound({ channel: "telegram", address: "506", updateId: null, inbound, now: Date.now() }, (state) => handleInbound(state, inbound, context, Date.now()));
    harness.standIn.openChat(506);
    harness.standIn.block(506);
    harness.enqueue("506", "second");
    harness.dispatcher.start();
    await harness.standIn.waitFor(() => harness.store.stateAt("telegram", "506")?.stopped === true, { timeoutMs: 5000 });
    const rows = harness.database.sqlite.prepare("select status, error from outbox where address = '506' order by id").all();
    expect(rows).toEqual([
      { status: "failed", error: "sendMessage: 403 Forbidden: bot was blocked by the user" },
      { status: "cancelled", error: "learner unreachable" },
    ]);
  });
});
