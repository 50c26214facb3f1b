import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pino, { type Logger } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parse, stringify } from "yaml";
import wwebjs from "whatsapp-web.js";
import { createApp, type App, type AppOptions } from "../../src/app.js";
import { classifyWhatsAppError, renderForWhatsApp, WhatsAppChannel, whatsappMessageLimit, type WhatsAppOptions } from "../../src/channels/whatsapp.js";
import { browserArgs, clientOptionsFor } from "../../src/channels/whatsapp/client.js";
import { toInbound } from "../../src/channels/whatsapp/inbound.js";
import { renderOperatorPage, tokenMatches } from "../../src/channels/whatsapp/operator-page.js";
import { qrForTerminal, qrMatrix, qrSvg } from "../../src/channels/whatsapp/qr.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { stepAt } from "../../src/content/model.js";
import { Dispatcher, SendError, type ChannelSender, type SendContext, type SendFailure } from "../../src/dispatcher.js";
import type { Outbound } from "../../src/engine/types.js";
import { toWhatsApp } from "../../src/render/markdown.js";
import { FakeWhatsApp, fakeMessage, navigationError, type FakeWhatsAppClient } from "../support/fake-whatsapp.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const token = "operator-token-0123456789abcdef";
const alice = "15551234567@c.us";
const bruno = "33612345678@c.us";
const carmen = "34612345678@c.us";

function temporaryDir(): string {
  return mkdtempSync(join(tmpdir(), "waypoints-whatsapp-"));
}

/** Writes a content folder with module 1 only, in every language of the course. */
function moduleOneContent(): string {
  const dir = join(temporaryDir(), "content");
  const manifest = parse(readFileSync(join(projectRoot, "content/course.yaml"), "utf8")) as { languages: string[]; modules: { id: string }[] };
  manifest.modules = manifest.modules.filter((module) => module.id === "m1");
  for (const language of manifest.languages) {
    cpSync(join(projectRoot, "content", language, "m1"), join(dir, language, "m1"), { recursive: true });
    cpSync(join(projectRoot, "content", language, "glossary.yaml"), join(dir, language, "glossary.yaml"));
  }
  writeFileSync(join(dir, "course.yaml"), stringify(manifest));
  return dir;
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** Creates a pino logger at debug level that keeps its lines for the test. */
function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/** Returns the failure of a send that must fail with a SendError. */
async function failureOf(sending: Promise<unknown>): Promise<SendFailure> {
  try {
    await sending;
  } catch (error) {
    if (error instanceof SendError) return error.failure;
    throw error;
  }
  throw new Error("expected the send to fail with a SendError");
}

const infoLevel = 30;

/** Log lines at info level and above that contain a phone number of the tests. */
function linesWithPhoneNumbers(lines: LogLine[]): LogLine[] {
  return lines.filter((line) => line.level >= infoLevel && /15551234567|33612345678|34612345678|15557654321/.test(JSON.stringify(line)));
}

// ---------------------------------------------------------------------------
// The channel alone, with the fake client, a clock and a manual scheduler

interface ScheduledRun {
  run: () => void;
  delayMs: number;
  cancelled: boolean;
}

interface ChannelHarness {
  channel: WhatsAppChannel;
  whatsapp: FakeWhatsApp;
  clock: { time: number };
  scheduled: ScheduledRun[];
  lines: LogLine[];
  printed: string[];
  received: { address: string; updateId: string; inbound: unknown }[];
  dir: string;
  options: WhatsAppOptions;
}

const channels: WhatsAppChannel[] = [];
afterEach(async () => {
  for (const channel of channels.splice(0)) await channel.stop();
});

function makeChannel(overrides: Partial<WhatsAppOptions> = {}, dir = temporaryDir(), whatsapp = new FakeWhatsApp()): ChannelHarness {
  const clock = { time: Date.UTC(2026, 2, 1, 22, 0, 0) };
  const scheduled: ScheduledRun[] = [];
  const printed: string[] = [];
  const received: ChannelHarness["received"] = [];
  const { logger, lines } = captureLogger();
  const options: WhatsAppOptions = {
    sessionDir: join(dir, "whatsapp-session"),
    // Any existing file passes the browser check; the fake client never starts it.
    chromiumPath: process.execPath,
    guardFile: join(dir, "whatsapp-guards.json"),
    minChatGapMs: 3000,
    minGlobalGapMs: 1500,
    dailyCap: 200,
    paused: false,
    logger,
    now: () => clock.time,
    clientFactory: whatsapp.factory,
    schedule: (run, delayMs) => {
      const entry = { run, delayMs, cancelled: false };
      scheduled.push(entry);
      return { cancel: () => void (entry.cancelled = true) };
    },
    printQr: (text) => void printed.push(text),
    onInbound: (address, updateId, inbound) => void received.push({ address, updateId, inbound }),
    ...overrides,
  };
  const channel = new WhatsAppChannel(options);
  channels.push(channel);
  return { channel, whatsapp, clock, scheduled, lines, printed, received, dir, options };
}

/** Starts the channel, links it by scanning the QR code and lets the given chats write first. */
async function linkedChannel(overrides: Partial<WhatsAppOptions> = {}, writers: string[] = [alice, bruno]): Promise<ChannelHarness> {
  const harness = makeChannel(overrides);
  await harness.channel.start();
  harness.whatsapp.client.scanQr();
  for (const address of writers) harness.whatsapp.client.receive({ from: address, body: "hello" });
  return harness;
}

const reply: SendContext = { lane: "reply" };
const bulk: SendContext = { lane: "bulk" };

describe("WhatsApp rendering", () => {
  it("appends choices as a numbered list", () => {
    const message: Outbound = {
      text: "**Question** with a [source](https://example.org/a) and _stress_",
      choices: [
        [{ data: "1:a", label: "First" }, { data: "1:b", label: "Second" }],
        [{ data: "1:c", label: "Third" }],
      ],
    };
    expect(renderForWhatsApp(message)).toEqual([
      "*Question* with a source (https://example.org/a) and _stress_\n\n1. First\n2. Second\n3. Third",
    ]);
  });

  it("sends text without choices unchanged", () => {
    expect(renderForWhatsApp({ text: "Plain line" })).toEqual(["Plain line"]);
  });

  it("splits long texts at the limit", () => {
    const paragraph = "word ".repeat(300).trim();
    const text = Array.from({ length: 4 }, () => paragraph).join("\n\n");
    const parts = renderForWhatsApp({ text, choices: [[{ data: "1:next", label: "Next" }]] });
    expect(whatsappMessageLimit).toBe(4096);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe([paragraph, paragraph].join("\n\n"));
    expect(parts[1]).toBe(`${[paragraph, paragraph].join("\n\n")}\n\n1. Next`);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(4096);
  });
});

describe("WhatsApp inbound messages", () => {
  const ignored: [string, Parameters<typeof fakeMessage>[0], string][] = [
    ["group message", { from: "120363012345678901@g.us", author: alice, body: "1" }, "group"],
    ["status broadcast", { from: "status@broadcast", author: alice, isStatus: true, type: "image" }, "status"],
    ["own message", { from: alice, fromMe: true, body: "1" }, "from_me"],
    ["reaction", { from: alice, type: "reaction", body: "👍" }, "system"],
    ["protocol message", { from: alice, type: "protocol" }, "system"],
    ["revoked message", { from: alice, type: "revoked" }, "system"],
    ["e2e notification", { from: alice, type: "e2e_notification" }, "system"],
    ["notification template", { from: alice, type: "notification_template" }, "system"],
    ["newsletter post", { from: "120363098765432109@newsletter", body: "news" }, "not_personal"],
    ["broadcast list", { from: alice, broadcast: true, body: "1" }, "not_personal"],
  ];
  for (const [name, fields, reason] of ignored) {
    it(`ignores a ${name}`, () => {
      expect(toInbound(fakeMessage(fields))).toEqual({ kind: "ignored", reason });
    });
  }

  it("reads text and commands", () => {
    expect(toInbound(fakeMessage({ from: alice, body: "2" }))).toEqual({ kind: "accepted", inbound: { type: "text", text: "2" } });
    expect(toInbound(fakeMessage({ from: alice, body: "/start" }))).toEqual({ kind: "accepted", inbound: { type: "command", command: "start", args: "" } });
    expect(toInbound(fakeMessage({ from: "201234567890123@lid", body: "next" }))).toEqual({ kind: "accepted", inbound: { type: "text", text: "next" } });
  });

  for (const type of ["image", "video", "audio", "ptt", "sticker", "document", "location", "vcard", "poll_creation"]) {
    it(`marks ${type} as unsupported`, () => {
      expect(toInbound(fakeMessage({ from: alice, type, hasMedia: true }))).toEqual({ kind: "accepted", inbound: { type: "unsupported", media: type } });
    });
  }

  it("hands over the address and message id", async () => {
    const harness = await linkedChannel({}, []);
    const message = harness.whatsapp.client.receive({ from: alice, body: "/help" });
    expect(harness.received).toEqual([{ address: alice, updateId: message.id._serialized, inbound: { type: "command", command: "help", args: "" } }]);
    expect(message.id._serialized).toBe(`false_${alice}_${message.id.id}`);
  });

  it("counts ignored messages", async () => {
    const harness = await linkedChannel({}, []);
    for (const [, fields] of ignored) harness.whatsapp.client.receive(fields);
    expect(harness.received).toEqual([]);
    expect(harness.channel.ignoredStats()).toEqual({ from_me: 1, status: 1, group: 1, not_personal: 2, system: 5 });
    expect(harness.channel.guardStats().chatsThatWrote).toBe(0);
  });
});

describe("WhatsApp sending", () => {
  it("sends through sendMessage without link previews", async () => {
    const harness = await linkedChannel();
    const id = await harness.channel.send(alice, { text: "**Hi**", choices: [[{ data: "3:next", label: "Next ▶" }]] }, reply);
    expect(id).toBe(`true_${alice}_FAKE1`);
    expect(harness.whatsapp.client.sent).toEqual([{ chatId: alice, content: "*Hi*\n\n1. Next ▶", options: { linkPreview: false } }]);
  });

  it("sends an image with the text as caption", async () => {
    const harness = await linkedChannel();
    const image = { url: "https://example.org/family.png", alt: "The Haddad family at the bus station" };
    const id = await harness.channel.send(alice, { text: "**Episode 1**", image, choices: [[{ data: "3:next", label: "Next ▶" }]] }, reply);
    expect(harness.whatsapp.client.sentTo(alice)).toEqual(["[image https://example.org/family.png] *Episode 1*\n\n1. Next ▶"]);
    expect(id).toBe(`true_${alice}_FAKE1`);
  });

  it("falls back to a link when the image fails", async () => {
    const harness = await linkedChannel();
    harness.whatsapp.client.imageError = new Error("Request failed with status code 404");
    const image = { url: "https://example.org/missing.png", alt: "A map of the route" };
    await harness.channel.send(alice, { text: "Read on.", image }, reply);
    expect(harness.whatsapp.client.sentTo(alice)).toEqual(["🖼 A map of the route: https://example.org/missing.png", "Read on."]);
  });

  it("returns the id of the last part", async () => {
    const harness = await linkedChannel();
    const paragraph = "word ".repeat(600).trim();
    const id = await harness.channel.send(alice, { text: `${paragraph}\n\n${paragraph}` }, reply);
    expect(harness.whatsapp.client.sentTo(alice)).toEqual([paragraph, paragraph]);
    expect(id).toBe(`true_${alice}_FAKE2`);
  });

  it("rejects an invalid address", async () => {
    const harness = await linkedChannel();
    harness.whatsapp.client.sendError = new Error("Evaluation failed: Error: wid error: invalid wid");
    expect(await failureOf(harness.channel.send(alice, { text: "x" }, reply))).toEqual({
      kind: "rejected",
      message: "sendMessage failed: Evaluation failed: Error: wid error: invalid wid",
    });
  });

  it("retries a closed page", async () => {
    const harness = await linkedChannel();
    harness.whatsapp.client.sendError = new Error("Protocol error (Runtime.callFunctionOn): Target closed.");
    expect(await failureOf(harness.channel.send(alice, { text: "x" }, reply))).toEqual({
      kind: "transient",
      message: "sendMessage failed: Protocol error (Runtime.callFunctionOn): Target closed.",
    });
  });

  it("retries a chat that WhatsApp Web did not find", async () => {
    const harness = await linkedChannel();
    vi.spyOn(harness.whatsapp.client, "sendMessage").mockResolvedValue(undefined);
    expect(await failureOf(harness.channel.send(alice, { text: "x" }, reply))).toEqual({
      kind: "transient",
      message: "sendMessage returned no message: WhatsApp Web did not find the chat",
    });
  });

  it("hides phone numbers in errors", () => {
    expect(classifyWhatsAppError(new Error(`no chat 15551234567@c.us`))).toEqual({ kind: "transient", message: "sendMessage failed: no chat <number>@c.us" });
  });
});

describe("WhatsApp guards", () => {
  it("holds sends until the client is ready", async () => {
    const harness = makeChannel();
    await harness.channel.start();
    harness.whatsapp.client.receive({ from: alice, body: "hi" });
    expect(harness.channel.linkStatus().state).toBe("qr");
    expect(await failureOf(harness.channel.send(alice, { text: "x" }, reply))).toEqual({
      kind: "held",
      retryAfterMs: 5000,
      global: true,
      message: "not_connected: the WhatsApp client is not linked and connected; the message waits for it",
    });
    expect(harness.whatsapp.client.sent).toEqual([]);
  });

  it("holds chats that never wrote", async () => {
    const harness = await linkedChannel();
    expect(await failureOf(harness.channel.send(carmen, { text: "x" }, reply))).toEqual({
      kind: "held",
      retryAfterMs: 600_000,
      global: false,
      message: "no_first_message: this chat never wrote to the number, and WhatsApp messages go only to chats that wrote first",
    });
    expect(harness.whatsapp.client.sent).toEqual([]);
  });

  it("spaces messages to one chat", async () => {
    const harness = await linkedChannel();
    await harness.channel.send(alice, { text: "one" }, reply);
    harness.clock.time += 1000;
    expect(await failureOf(harness.channel.send(alice, { text: "two" }, reply))).toEqual({
      kind: "held",
      retryAfterMs: 2000,
      global: false,
      message: "chat_gap: WHATSAPP_MIN_CHAT_GAP_MS keeps 3000 ms between messages to one chat",
    });
    harness.clock.time += 2000;
    await harness.channel.send(alice, { text: "two" }, reply);
    expect(harness.whatsapp.client.sentTo(alice)).toEqual(["one", "two"]);
  });

  it("spaces messages across chats", async () => {
    const harness = await linkedChannel();
    await harness.channel.send(alice, { text: "to alice" }, reply);
    harness.clock.time += 1000;
    expect(await failureOf(harness.channel.send(bruno, { text: "to bruno" }, reply))).toEqual({
      kind: "held",
      retryAfterMs: 500,
      global: true,
      message: "global_gap: WHATSAPP_MIN_GLOBAL_GAP_MS keeps 1500 ms between any two messages",
    });
    harness.clock.time += 500;
    await harness.channel.send(bruno, { text: "to bruno" }, reply);
    expect(harness.whatsapp.client.sent.map((message) => message.chatId)).toEqual([alice, bruno]);
  });

  it("tells the dispatcher the gaps", () => {
    const { channel } = makeChannel();
    expect(channel.perChatIntervalMs).toBe(3000);
    expect(channel.globalPerSecond).toBe(1);
    const fast = makeChannel({ minChatGapMs: 0, minGlobalGapMs: 200 }).channel;
    expect(fast.perChatIntervalMs).toBe(0);
    expect(fast.globalPerSecond).toBe(5);
    expect(makeChannel({ minGlobalGapMs: 0 }).channel.globalPerSecond).toBe(Number.POSITIVE_INFINITY);
  });

  it("caps bulk messages per UTC day", async () => {
    const harness = await linkedChannel({ dailyCap: 2, minChatGapMs: 0, minGlobalGapMs: 0 });
    await harness.channel.send(alice, { text: "release 1" }, bulk);
    await harness.channel.send(bruno, { text: "release 1" }, bulk);
    // 22:00 UTC: the cap opens again in two hours.
    expect(await failureOf(harness.channel.send(alice, { text: "reminder" }, bulk))).toEqual({
      kind: "held",
      retryAfterMs: 7_200_000,
      global: false,
      message: "daily_cap: the daily cap of 2 bulk messages (WHATSAPP_DAILY_CAP) is reached; the message waits until 00:00 UTC",
    });
    // A message without a lane counts as bulk.
    expect((await failureOf(harness.channel.send(alice, { text: "reminder" }))).kind).toBe("held");
    await harness.channel.send(alice, { text: "an answer" }, reply);
    expect(harness.channel.guardStats()).toEqual({
      held: { not_connected: 0, no_first_message: 0, paused: 0, daily_cap: 2, chat_gap: 0, global_gap: 0 },
      bulkSentToday: 2,
      dailyCap: 2,
      paused: false,
      chatsThatWrote: 2,
    });

    harness.clock.time = Date.UTC(2026, 2, 2, 0, 0, 0);
    await harness.channel.send(alice, { text: "reminder" }, bulk);
    expect(harness.channel.guardStats().bulkSentToday).toBe(1);
    expect(harness.whatsapp.client.sentTo(alice)).toEqual(["release 1", "an answer", "reminder"]);
  });

  it("counts each part toward the cap", async () => {
    const harness = await linkedChannel({ dailyCap: 3, minChatGapMs: 0, minGlobalGapMs: 0 });
    const paragraph = "word ".repeat(600).trim();
    await harness.channel.send(alice, { text: `${paragraph}\n\n${paragraph}` }, bulk);
    expect(harness.channel.guardStats().bulkSentToday).toBe(2);
    expect((await failureOf(harness.channel.send(alice, { text: `${paragraph}\n\n${paragraph}` }, bulk))).kind).toBe("held");
    await harness.channel.send(alice, { text: "short" }, bulk);
    expect(harness.channel.guardStats().bulkSentToday).toBe(3);
  });

  it("keeps the count across a restart", async () => {
    const first = await linkedChannel({ dailyCap: 1, minChatGapMs: 0, minGlobalGapMs: 0 });
    await first.channel.send(alice, { text: "release" }, bulk);
    await first.channel.stop();

    const second = makeChannel({ dailyCap: 1, minChatGapMs: 0, minGlobalGapMs: 0, sessionDir: first.options.sessionDir, guardFile: first.options.guardFile });
    second.clock.time = first.clock.time;
    await second.channel.start();
    expect(second.channel.linkStatus().state).toBe("ready");
    expect(second.channel.guardStats()).toMatchObject({ bulkSentToday: 1, chatsThatWrote: 2 });
    expect((await failureOf(second.channel.send(bruno, { text: "release" }, bulk))).kind).toBe("held");
    await second.channel.send(bruno, { text: "an answer" }, reply);
    const saved = JSON.parse(readFileSync(first.options.guardFile, "utf8")) as { version: number; firstMessageAt: Record<string, number>; bulk: unknown };
    expect(saved.version).toBe(1);
    expect(Object.keys(saved.firstMessageAt)).toEqual([alice, bruno]);
    expect(saved.bulk).toEqual({ day: "2026-03-01", count: 1 });
    expect(statSync(first.options.guardFile).mode & 0o777).toBe(0o600);
  });

  it("pauses bulk but not replies", async () => {
    const harness = await linkedChannel({ paused: true, minChatGapMs: 0, minGlobalGapMs: 0 });
    expect(await failureOf(harness.channel.send(alice, { text: "broadcast" }, bulk))).toEqual({
      kind: "held",
      retryAfterMs: 60_000,
      global: false,
      message: "paused: WHATSAPP_SEND_PAUSED is true, so bulk messages wait; replies to learners still go out",
    });
    await harness.channel.send(alice, { text: "an answer" }, reply);
    expect(harness.whatsapp.client.sentTo(alice)).toEqual(["an answer"]);
    expect(harness.channel.guardStats()).toMatchObject({ held: { paused: 1 }, bulkSentToday: 0, paused: true });
  });

  it("distrusts an unreadable guard file", async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, "whatsapp-guards.json"), "{ not json");
    const harness = makeChannel({ minChatGapMs: 0, minGlobalGapMs: 0 }, dir);
    await harness.channel.start();
    harness.whatsapp.client.scanQr();
    harness.whatsapp.client.receive({ from: alice, body: "hi" });
    expect((await failureOf(harness.channel.send(alice, { text: "release" }, bulk))).kind).toBe("held");
    await harness.channel.send(alice, { text: "an answer" }, reply);
    expect(existsSync(join(dir, "whatsapp-guards.json.unreadable"))).toBe(true);
    const error = harness.lines.find((line) => line.level === 50);
    expect(error?.msg).toBe("whatsapp guard file is unreadable: bulk messages wait until 00:00 UTC, and chats must write again before they get messages");
  });

  it("logs holds once a minute without numbers", async () => {
    const harness = await linkedChannel();
    await harness.channel.send(alice, { text: "one" }, reply);
    for (let attempt = 0; attempt < 3; attempt += 1) await failureOf(harness.channel.send(alice, { text: "two" }, reply));
    const holds = harness.lines.filter((line) => line.msg === "whatsapp guard held a message back");
    expect(holds).toHaveLength(1);
    expect(holds[0]).toMatchObject({ level: infoLevel, guard: "chat_gap", heldTotal: 1, retryAfterMs: 3000 });
    expect(harness.channel.guardStats().held.chat_gap).toBe(3);
    expect(linesWithPhoneNumbers(harness.lines)).toEqual([]);
  });
});

describe("WhatsApp connection", () => {
  it("builds the client with LocalAuth and Chromium", () => {
    const options = clientOptionsFor(wwebjs, { sessionDir: "data/whatsapp-session", chromiumPath: "/usr/bin/chromium", browserArgs });
    expect(options.authStrategy).toBeInstanceOf(wwebjs.LocalAuth);
    expect((options.authStrategy as InstanceType<typeof wwebjs.LocalAuth>).dataPath).toBe(resolve("data/whatsapp-session"));
    expect(options.puppeteer).toEqual({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
      headless: true,
    });
    expect(options.webVersionCache).toEqual({ type: "local", path: resolve("data/whatsapp-session/web-cache") });
  });

  it("reports a missing Chromium", async () => {
    const harness = makeChannel({ chromiumPath: "/nonexistent/chromium" });
    await harness.channel.start();
    expect(harness.whatsapp.clients).toHaveLength(0);
    expect(harness.channel.linkStatus()).toMatchObject({
      state: "failed",
      detail: "Chromium was not found at /nonexistent/chromium. Install it (apt-get install chromium) or set WHATSAPP_CHROMIUM_PATH, then restart. The rest of the service runs without WhatsApp.",
    });
    expect(harness.lines.at(-1)).toMatchObject({ level: 50, msg: "whatsapp cannot start: Chromium not found; install it or set WHATSAPP_CHROMIUM_PATH", chromiumPath: "/nonexistent/chromium" });
    expect(harness.scheduled).toEqual([]);
  });

  it("shows the QR code", async () => {
    const harness = makeChannel();
    await harness.channel.start();
    const qr = harness.whatsapp.client.qrCodes[0];
    expect(harness.channel.linkStatus()).toMatchObject({ state: "qr", qr });
    expect(harness.printed).toEqual([qrForTerminal(qr ?? "")]);
    expect(harness.lines.filter((line) => line.msg.startsWith("whatsapp needs linking"))).toHaveLength(1);
    const next = harness.whatsapp.client.showQr();
    expect(harness.channel.linkStatus().qr).toBe(next);
    expect(harness.printed).toHaveLength(2);
    expect(harness.lines.filter((line) => line.msg.startsWith("whatsapp needs linking"))).toHaveLength(1);
    harness.whatsapp.client.scanQr();
    expect(harness.channel.linkStatus()).toMatchObject({ state: "ready", qr: null, detail: "Linked and connected: learners can write to the number." });
  });

  it("retries a failed start with backoff", async () => {
    const whatsapp = new FakeWhatsApp();
    whatsapp.initializeOutcomes.push("reject", "reject", "reject", "reject");
    const harness = makeChannel({ reconnectMaxMs: 5000 }, temporaryDir(), whatsapp);
    await harness.channel.start();
    expect(harness.channel.linkStatus()).toMatchObject({
      state: "reconnecting",
      detail: `WhatsApp Web is not connected (start failed: ${navigationError}). Trying again in 1 s (attempt 1).`,
    });
    for (let attempt = 1; attempt < 4; attempt += 1) {
      harness.scheduled.at(-1)?.run();
      await vi.waitFor(() => expect(harness.scheduled).toHaveLength(attempt + 1));
    }
    expect(harness.scheduled.map((entry) => entry.delayMs)).toEqual([1000, 2000, 4000, 5000]);
    expect(whatsapp.clients.map((client) => client.destroyCalls)).toEqual([1, 1, 1, 1]);
    harness.scheduled.at(-1)?.run();
    await vi.waitFor(() => expect(harness.channel.linkStatus().state).toBe("qr"));
    expect(whatsapp.clients).toHaveLength(5);
  });

  it("times out a hanging start", async () => {
    const whatsapp = new FakeWhatsApp();
    whatsapp.initializeOutcomes.push("hang");
    const harness = makeChannel({ initializeTimeoutMs: 20 }, temporaryDir(), whatsapp);
    await harness.channel.start();
    expect(whatsapp.client.destroyCalls).toBe(1);
    expect(harness.scheduled.map((entry) => entry.delayMs)).toEqual([1000]);
    const error = harness.lines.find((line) => line.level === 50);
    expect(error?.msg).toBe("whatsapp client failed to start: check that this host reaches web.whatsapp.com and that WHATSAPP_CHROMIUM_PATH runs");
    expect((error?.err as { message: string }).message).toBe("WhatsApp Web initialize() timed out after 20 ms");
  });

  it("closes a browser that starts late", async () => {
    const whatsapp = new FakeWhatsApp();
    whatsapp.initializeOutcomes.push("late");
    const harness = makeChannel({ initializeTimeoutMs: 10 }, temporaryDir(), whatsapp);
    await harness.channel.start();
    expect(whatsapp.client.destroyCalls).toBe(1);
    await vi.waitFor(() => expect(whatsapp.client.destroyCalls).toBe(2));
    expect(harness.channel.linkStatus().state).toBe("reconnecting");
  });

  it("reconnects after a disconnect", async () => {
    const harness = await linkedChannel({ minChatGapMs: 0, minGlobalGapMs: 0 });
    const first = harness.whatsapp.client;
    first.disconnect("NAVIGATION");
    expect(harness.channel.linkStatus()).toMatchObject({
      state: "reconnecting",
      detail: "WhatsApp Web is not connected (disconnected: NAVIGATION). Trying again in 1 s (attempt 1).",
    });
    expect(first.destroyCalls).toBe(1);
    expect((await failureOf(harness.channel.send(alice, { text: "x" }, reply))).kind).toBe("held");

    harness.scheduled[0]?.run();
    await vi.waitFor(() => expect(harness.channel.linkStatus().state).toBe("ready"));
    const second: FakeWhatsAppClient = harness.whatsapp.client;
    expect(second).not.toBe(first);
    expect(harness.whatsapp.specs[1]).toEqual(harness.whatsapp.specs[0]);
    expect(second.qrCodes).toEqual([]);
    await harness.channel.send(alice, { text: "back" }, reply);
    expect(second.sentTo(alice)).toEqual(["back"]);

    // Events of the old client no longer count.
    first.receive({ from: carmen, body: "hi" });
    expect(harness.received.map((entry) => entry.address)).toEqual([alice, bruno]);

    // A ready client starts the backoff again from the first delay.
    second.disconnect("CONFLICT");
    expect(harness.scheduled.map((entry) => entry.delayMs)).toEqual([1000, 1000]);
  });

  it("shows the new QR code after a logout", async () => {
    const harness = await linkedChannel({}, []);
    const client = harness.whatsapp.client;
    client.logOutFromPhone();
    expect(harness.channel.linkStatus()).toMatchObject({ state: "qr", qr: client.qrCodes[1] });
    expect(client.destroyCalls).toBe(0);
    expect(harness.scheduled.map((entry) => [entry.delayMs, entry.cancelled])).toEqual([[60_000, true]]);
    expect(harness.lines.some((line) => line.level === 40 && line.msg === "whatsapp session logged out from the phone: a new QR code is needed; open /whatsapp/qr")).toBe(true);
    client.scanQr();
    expect(harness.channel.linkStatus().state).toBe("ready");
  });

  it("starts a new client when no QR code follows a logout", async () => {
    const harness = await linkedChannel({}, []);
    const client = harness.whatsapp.client;
    client.logOutFromPhone(false);
    expect(harness.channel.linkStatus()).toMatchObject({ state: "logged_out", detail: "The phone logged this device out. A new QR code appears here shortly." });
    harness.scheduled[0]?.run();
    await vi.waitFor(() => expect(harness.scheduled).toHaveLength(2));
    expect(client.destroyCalls).toBe(1);
    expect(harness.scheduled[1]?.delayMs).toBe(1000);
    harness.scheduled[1]?.run();
    await vi.waitFor(() => expect(harness.channel.linkStatus().state).toBe("qr"));
    expect(harness.whatsapp.clients).toHaveLength(2);
    expect(harness.whatsapp.client.qrCodes).toHaveLength(1);
  });

  it("asks for a new QR code after auth failure", async () => {
    const harness = await linkedChannel({}, []);
    const sessionFolder = join(harness.options.sessionDir, "session");
    expect(existsSync(join(sessionFolder, "fake-link.json"))).toBe(true);
    harness.whatsapp.client.emit("auth_failure", "restore failed");
    expect(harness.channel.linkStatus()).toMatchObject({
      state: "logged_out",
      detail: "The session ended (authentication failed: restore failed). A new QR code appears here shortly.",
    });
    await vi.waitFor(() => expect(harness.scheduled).toHaveLength(1));
    expect(existsSync(sessionFolder)).toBe(false);
    expect(harness.scheduled[0]?.delayMs).toBe(1000);
    harness.scheduled[0]?.run();
    await vi.waitFor(() => expect(harness.channel.linkStatus().state).toBe("qr"));
    expect(harness.whatsapp.clients).toHaveLength(2);
    expect(harness.whatsapp.client.qrCodes).toHaveLength(1);
    expect(harness.lines.some((line) => line.level === 40 && line.msg === "whatsapp session ended: a new QR code is needed; open /whatsapp/qr")).toBe(true);
  });

  it("stops reconnecting when stopped", async () => {
    const harness = await linkedChannel();
    harness.whatsapp.client.disconnect("TIMEOUT");
    await harness.channel.stop();
    expect(harness.scheduled[0]?.cancelled).toBe(true);
    expect(harness.channel.linkStatus().state).toBe("stopped");
  });
});

describe("WhatsApp operator page", () => {
  it("compares tokens", () => {
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(token, `${token}x`)).toBe(false);
    expect(tokenMatches(token, "")).toBe(false);
    expect(tokenMatches(token, [token, token])).toBe(false);
    expect(tokenMatches(token, undefined)).toBe(false);
  });

  it("renders the QR code as SVG", () => {
    const data = "2@abc,def,ghi,1";
    const matrix = qrMatrix(data);
    const size = matrix.length;
    expect((size - 17) % 4).toBe(0);
    // The finder pattern in the top left corner: a dark 7x7 ring.
    expect(matrix[0]?.slice(0, 7)).toEqual([true, true, true, true, true, true, true]);
    expect(matrix[1]?.slice(0, 7)).toEqual([true, false, false, false, false, false, true]);
    const svg = qrSvg(data);
    expect(svg).toContain(`viewBox="0 0 ${size + 8} ${size + 8}"`);
    expect(svg).toContain("M4 4h1v1h-1z");
    expect(svg.match(/h1v1h-1z/g)).toHaveLength(matrix.flat().filter(Boolean).length);
    const terminal = qrForTerminal(data).split("\n");
    expect(terminal[0]).toHaveLength(size + 2);
  });

  it("escapes the state text", () => {
    const html = renderOperatorPage({ state: "failed", qr: null, detail: "Chromium was not found at /opt/<b>", since: 0 });
    expect(html).toContain('<main data-state="failed">');
    expect(html).toContain("<h1>WhatsApp: Not running</h1>");
    expect(html).toContain('<p id="detail">Chromium was not found at /opt/&lt;b&gt;</p>');
  });
});

describe("WhatsApp settings", () => {
  it("requires a token when enabled", () => {
    expect(() => loadConfig({ WHATSAPP_ENABLED: "true" })).toThrow(ConfigError);
    expect(() => loadConfig({ WHATSAPP_ENABLED: "true" })).toThrow(
      "WHATSAPP_OPERATOR_TOKEN=(hidden): missing, and required when WHATSAPP_ENABLED=true: expected 16 to 256 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-', such as the output of `openssl rand -hex 24`",
    );
  });

  it("rejects a short token", () => {
    expect(() => loadConfig({ WHATSAPP_ENABLED: "true", WHATSAPP_OPERATOR_TOKEN: "0123456789abcde" })).toThrow(
      "WHATSAPP_OPERATOR_TOKEN=(hidden): expected 16 to 256 characters",
    );
  });

  it("reports the token with other errors", () => {
    expect(() => loadConfig({ WHATSAPP_ENABLED: "true", PORT: "abc" })).toThrow(/PORT="abc": expected a number\n {2}WHATSAPP_OPERATOR_TOKEN=\(hidden\): missing/);
  });

  it("has safe defaults", () => {
    expect(loadConfig({})).toMatchObject({
      WHATSAPP_ENABLED: false,
      WHATSAPP_SESSION_DIR: "data/whatsapp-session",
      WHATSAPP_GUARD_FILE: "data/whatsapp-guards.json",
      WHATSAPP_CHROMIUM_PATH: "/usr/bin/chromium",
      WHATSAPP_MIN_CHAT_GAP_MS: 3000,
      WHATSAPP_MIN_GLOBAL_GAP_MS: 1500,
      WHATSAPP_DAILY_CAP: 200,
      WHATSAPP_SEND_PAUSED: false,
    });
    expect(loadConfig({ WHATSAPP_ENABLED: "true", WHATSAPP_OPERATOR_TOKEN: token }).WHATSAPP_OPERATOR_TOKEN).toBe(token);
  });
});

// ---------------------------------------------------------------------------
// The dispatcher's held sends and lanes, with a recording sender

/** A sender that records each call and fails with the failure that `outcome` returns. */
class RecordingSender implements ChannelSender {
  readonly channel = "whatsapp";
  readonly perChatIntervalMs = 0;
  readonly globalPerSecond = 100;
  readonly calls: { address: string; text: string; context: SendContext | undefined }[] = [];
  outcome: (context: SendContext | undefined) => SendFailure | null = () => null;

  async send(address: string, message: Outbound, context?: SendContext): Promise<string | null> {
    this.calls.push({ address, text: message.text, context });
    const failure = this.outcome(context);
    if (failure) throw new SendError(failure);
    return `id-${this.calls.length}`;
  }
}

interface OutboxState {
  id: number;
  status: string;
  attempts: number;
  not_before: number;
  error: string | null;
}

function outboxRows(app: App): OutboxState[] {
  return app.database.sqlite.prepare("select id, status, attempts, not_before, error from outbox order by id").all() as OutboxState[];
}

describe("Dispatcher held sends", () => {
  const apps: App[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function dispatcherWith(sender: RecordingSender, clock: { time: number }): Promise<{ app: App; dispatcher: Dispatcher }> {
    const dir = temporaryDir();
    const config = loadConfig({ PORT: "0", DATABASE_FILE: join(dir, "db.sqlite"), CONTENT_DIR: moduleOneContent(), LOCALES_DIR: join(projectRoot, "locales") });
    const app = await createApp(config, { logger: pino({ level: "silent" }), now: () => clock.time });
    apps.push(app);
    const dispatcher = new Dispatcher({ store: app.store, senders: [sender], logger: pino({ level: "silent" }), now: () => clock.time });
    return { app, dispatcher };
  }

  it("passes the lane to the sender", async () => {
    const sender = new RecordingSender();
    const clock = { time: 1_000_000 };
    const { app, dispatcher } = await dispatcherWith(sender, clock);
    app.store.enqueue(app.store.db, null, "whatsapp", alice, [{ text: "release" }], "bulk", clock.time);
    app.store.enqueue(app.store.db, null, "whatsapp", bruno, [{ text: "answer" }], "reply", clock.time);
    await dispatcher.pass();
    expect(sender.calls).toEqual([
      { address: bruno, text: "answer", context: { lane: "reply" } },
      { address: alice, text: "release", context: { lane: "bulk" } },
    ]);
  });

  it("keeps a held row pending", async () => {
    const sender = new RecordingSender();
    sender.outcome = (context) => (context?.lane === "bulk" ? { kind: "held", retryAfterMs: 60_000, global: false, message: "paused: test" } : null);
    const clock = { time: 1_000_000 };
    const { app, dispatcher } = await dispatcherWith(sender, clock);
    app.store.enqueue(app.store.db, null, "whatsapp", alice, [{ text: "release 1" }, { text: "release 2" }], "bulk", clock.time);
    await dispatcher.pass();
    expect(outboxRows(app)).toEqual([
      { id: 1, status: "pending", attempts: 0, not_before: 1_060_000, error: "paused: test" },
      { id: 2, status: "pending", attempts: 0, not_before: 1_000_000, error: null },
    ]);

    // The held lane keeps its later row back, while a reply to the same chat goes out.
    app.store.enqueue(app.store.db, null, "whatsapp", alice, [{ text: "answer" }], "reply", clock.time);
    clock.time += 10;
    await dispatcher.pass();
    await dispatcher.pass();
    expect(sender.calls.map((call) => call.text)).toEqual(["release 1", "answer"]);

    sender.outcome = () => null;
    clock.time = 1_060_000;
    await dispatcher.pass();
    await dispatcher.pass();
    expect(sender.calls.map((call) => call.text)).toEqual(["release 1", "answer", "release 1", "release 2"]);
    expect(outboxRows(app).map((row) => [row.status, row.attempts])).toEqual([["sent", 1], ["sent", 1], ["sent", 1]]);
  });

  it("holds the whole channel on a global hold", async () => {
    const sender = new RecordingSender();
    sender.outcome = () => ({ kind: "held", retryAfterMs: 500, global: true, message: "global_gap: test" });
    const clock = { time: 1_000_000 };
    const { app, dispatcher } = await dispatcherWith(sender, clock);
    app.store.enqueue(app.store.db, null, "whatsapp", alice, [{ text: "to alice" }], "reply", clock.time);
    app.store.enqueue(app.store.db, null, "whatsapp", bruno, [{ text: "to bruno" }], "reply", clock.time);
    await dispatcher.pass();
    expect(sender.calls.map((call) => call.address)).toEqual([alice, bruno]);
    clock.time += 499;
    await dispatcher.pass();
    expect(sender.calls).toHaveLength(2);
    sender.outcome = () => null;
    clock.time += 1;
    await dispatcher.pass();
    expect(sender.calls.map((call) => call.address)).toEqual([alice, bruno, alice, bruno]);
  });
});

// ---------------------------------------------------------------------------
// The channel in the app: real engine, store and SQLite file

interface AppHarness {
  app: App;
  whatsapp: FakeWhatsApp;
  lines: LogLine[];
  baseUrl: string;
}

describe("WhatsApp in the app", () => {
  const apps: App[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    vi.restoreAllMocks();
  });

  function appConfig(dir: string, content: string, extra: Record<string, string> = {}) {
    return loadConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      DATABASE_FILE: join(dir, "db.sqlite"),
      CONTENT_DIR: content,
      LOCALES_DIR: join(projectRoot, "locales"),
      WEB_CHAT_ENABLED: "false",
      WHATSAPP_ENABLED: "true",
      WHATSAPP_OPERATOR_TOKEN: token,
      WHATSAPP_SESSION_DIR: join(dir, "whatsapp-session"),
      WHATSAPP_GUARD_FILE: join(dir, "whatsapp-guards.json"),
      WHATSAPP_CHROMIUM_PATH: process.execPath,
      WHATSAPP_MIN_CHAT_GAP_MS: "0",
      WHATSAPP_MIN_GLOBAL_GAP_MS: "0",
      ...extra,
    });
  }

  async function startApp(config: ReturnType<typeof loadConfig>, whatsapp = new FakeWhatsApp(), options: AppOptions = {}): Promise<AppHarness> {
    // The QR code also goes to standard output, which the tests keep quiet.
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const { logger, lines } = captureLogger();
    const app = await createApp(config, { logger, whatsappClientFactory: whatsapp.factory, ...options });
    apps.push(app);
    const baseUrl = await app.listen();
    return { app, whatsapp, lines, baseUrl };
  }

  /** Waits until every reply on WhatsApp is sent; held bulk rows may stay pending. */
  async function settled(app: App): Promise<void> {
    await vi.waitFor(
      () => {
        const row = app.database.sqlite
          .prepare("select count(*) as open from outbox where channel = 'whatsapp' and (status = 'sending' or (status = 'pending' and lane = 'reply'))")
          .get() as { open: number };
        expect(row.open).toBe(0);
      },
      { timeout: 5000, interval: 5 },
    );
  }

  async function write(harness: AppHarness, from: string, body: string, fields: Partial<Parameters<typeof fakeMessage>[0]> = {}): Promise<void> {
    harness.whatsapp.client.receive({ from, body, ...fields });
    await settled(harness.app);
  }

  async function linked(harness: AppHarness): Promise<void> {
    await vi.waitFor(() => expect(harness.app.whatsapp?.linkStatus().state).toMatch(/qr|ready/));
    if (harness.app.whatsapp?.linkStatus().state === "qr") harness.whatsapp.client.scanQr();
    expect(harness.app.whatsapp?.linkStatus().state).toBe("ready");
  }

  const styles: Record<string, (index: number) => string> = {
    en: (index) => `${index + 1}`,
    fr: (index) => `${index + 1}\uFE0F\u20E3`,
    es: (index) => `${index + 1}.`,
  };
  const learners: Record<string, string> = { en: alice, fr: bruno, es: carmen };

  it("takes learners through module 1 in each language", async () => {
    const harness = await startApp(appConfig(temporaryDir(), moduleOneContent()));
    await linked(harness);
    const { app } = harness;
    const t = app.context.t;
    const client = harness.whatsapp.client;

    for (const [language, address] of Object.entries(learners)) {
      const typed = styles[language] ?? styles.en!;
      await write(harness, address, "hello");
      const menu = client.sentTo(address).at(-1) ?? "";
      expect(menu.split("\n").slice(-3)).toEqual(["1. English", "2. Français", "3. Español"]);
      await write(harness, address, typed(app.course.languages.indexOf(language)));
      expect(client.sentTo(address).at(-1)).toBe(
        `${toWhatsApp(t(language, "onboarding.consent"))}\n\n1. ${t(language, "onboarding.agree")}\n2. ${t(language, "onboarding.decline")}`,
      );
      await write(harness, address, typed(0));
      expect(client.sentTo(address).at(-1)?.startsWith(`${t(language, "onboarding.role")}\n\n1. ${t(language, "roles.humanitarian")}\n`)).toBe(true);
      await write(harness, address, typed(0));
      expect(client.sentTo(address).at(-1)?.split("\n").at(-1)).toBe(`4. ${t(language, "schedule.paces.self")}`);
      await write(harness, address, typed(3));
      expect(client.sentTo(address).at(-1)?.startsWith(toWhatsApp(t(language, "schedule.askRegion")))).toBe(true);
      await write(harness, address, "UTC+1");
      expect(app.store.stateAt("whatsapp", address)).toMatchObject({ stage: "course", pace: "self", timeZone: "Etc/GMT-1" });

      for (let turn = 0; turn < 200; turn += 1) {
        const state = app.store.stateAt("whatsapp", address);
        if (!state || state.stage !== "course") break;
        if (state.phase === "question") {
          const step = stepAt(app.course, language, state.position);
          const options = step.kind === "quiz" || step.kind === "scenario" ? step.options : [];
          const best = options.findIndex((option) => option.correct || option.best);
          await write(harness, address, typed(Math.max(best, 0)));
        } else if (state.phase === "reflection") {
          await write(harness, address, "I will explain each step to the child before it happens.");
        } else {
          await write(harness, address, typed(0));
        }
      }

      expect(app.store.stateAt("whatsapp", address)?.stage).toBe("finished");
      const sent = client.sentTo(address);
      const title = app.course.title[language];
      expect(sent.at(-1)).toBe(toWhatsApp(`${t(language, "course.finished", { title })}\n\n${t(language, "course.survey")}`));
      const moduleTitle = app.course.modules[0]?.text[language]?.title;
      const summary = [
        t(language, "module.finished", { number: 1, title: moduleTitle }),
        t(language, "module.score", { correct: 5, count: 5, percent: 100 }),
        t(language, "module.passed", { passMark: 70 }),
      ].join("\n\n");
      expect(sent).toContain(`${toWhatsApp(summary)}\n\n1. ${t(language, "buttons.finishCourse")}`);
      for (const text of sent) expect(text.length).toBeLessThanOrEqual(4096);

      const completed = app.database.sqlite
        .prepare(
          "select e.data, n.language from events e join enrollments n on n.id = e.enrollment_id join addresses a on a.learner_id = n.learner_id where a.channel = 'whatsapp' and a.address = ? and e.type = 'module_completed'",
        )
        .all(address) as { data: string; language: string }[];
      expect(completed.map((row) => [JSON.parse(row.data), row.language])).toEqual([[{ moduleId: "m1", correct: 5, questions: 5, passed: true }, language]]);
    }

    expect(new Set(client.sent.map((message) => message.chatId))).toEqual(new Set(Object.values(learners)));
    expect(app.whatsapp?.guardStats()).toMatchObject({ bulkSentToday: 0, chatsThatWrote: 3, held: { no_first_message: 0, daily_cap: 0, paused: 0 } });
    expect(linesWithPhoneNumbers(harness.lines)).toEqual([]);
  });

  it("does not answer ignored messages", async () => {
    const harness = await startApp(appConfig(temporaryDir(), moduleOneContent()));
    await linked(harness);
    const group = "120363012345678901@g.us";
    await write(harness, group, "1", { author: alice });
    await write(harness, "status@broadcast", "", { author: alice, isStatus: true, type: "image" });
    await write(harness, alice, "1", { fromMe: true });
    await write(harness, alice, "👍", { type: "reaction" });
    await write(harness, alice, "", { type: "protocol" });
    expect(harness.whatsapp.client.sent).toEqual([]);
    const updates = harness.app.database.sqlite.prepare("select count(*) as count from processed_updates").get() as { count: number };
    expect(updates.count).toBe(0);
    expect(harness.app.whatsapp?.ignoredStats()).toEqual({ from_me: 1, status: 1, group: 1, not_personal: 0, system: 2 });
  });

  it("answers media with the text hint", async () => {
    const harness = await startApp(appConfig(temporaryDir(), moduleOneContent()));
    await linked(harness);
    await write(harness, alice, "hello");
    await write(harness, alice, "", { type: "ptt", hasMedia: true });
    expect(harness.whatsapp.client.sentTo(alice).at(-1)).toBe(harness.app.context.t("en", "input.unsupported"));
    await write(harness, alice, "", { type: "image", hasMedia: true });
    expect(harness.whatsapp.client.sentTo(alice)).toHaveLength(3);
  });

  it("processes a redelivered message once", async () => {
    const harness = await startApp(appConfig(temporaryDir(), moduleOneContent()));
    await linked(harness);
    const message = fakeMessage({ from: alice, body: "hello" });
    harness.whatsapp.client.emit("message", message);
    harness.whatsapp.client.emit("message", message);
    await settled(harness.app);
    expect(harness.whatsapp.client.sentTo(alice)).toHaveLength(1);
    expect(harness.lines.some((line) => line.msg === "duplicate update skipped")).toBe(true);
    expect(linesWithPhoneNumbers(harness.lines)).toEqual([]);
  });

  it("serves the operator page", async () => {
    const harness = await startApp(appConfig(temporaryDir(), moduleOneContent()));
    const url = `${harness.baseUrl}/whatsapp/qr`;
    for (const query of ["", "?token=wrong-token-0123456789", `?token=${token}x`]) {
      const response = await fetch(`${url}${query}`);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        code: "WP_WHATSAPP_UNAUTHORIZED",
        message: "missing or wrong token: open /whatsapp/qr?token=<WHATSAPP_OPERATOR_TOKEN> with the token from the service's settings",
      });
    }

    await vi.waitFor(() => expect(harness.app.whatsapp?.linkStatus().state).toBe("qr"));
    const qrPage = await fetch(`${url}?token=${token}`);
    expect(qrPage.status).toBe(200);
    expect(qrPage.headers.get("cache-control")).toBe("no-store");
    expect(qrPage.headers.get("referrer-policy")).toBe("no-referrer");
    expect(qrPage.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await qrPage.text();
    expect(html).toContain('<main data-state="qr">');
    expect(html).toContain("<h1>WhatsApp: Scan the QR code</h1>");
    expect(html).toContain(qrSvg(harness.whatsapp.client.qrCodes[0] ?? ""));

    harness.whatsapp.client.scanQr();
    const linkedPage = await (await fetch(`${url}?token=${token}`)).text();
    expect(linkedPage).toContain('<main data-state="ready">');
    expect(linkedPage).toContain("<h1>WhatsApp: Linked</h1>");
    expect(linkedPage).not.toContain("<svg");
    expect(harness.lines.some((line) => JSON.stringify(line).includes(token))).toBe(false);
  });

  it("keeps the session across a restart", async () => {
    const dir = temporaryDir();
    const config = appConfig(dir, moduleOneContent());
    const whatsapp = new FakeWhatsApp();
    const first = await startApp(config, whatsapp);
    await vi.waitFor(() => expect(first.app.whatsapp?.linkStatus().state).toBe("qr"));
    whatsapp.client.scanQr();
    await write(first, alice, "hello");
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);
    expect(whatsapp.clients[0]?.destroyCalls).toBe(1);

    const second = await startApp(config, whatsapp);
    await vi.waitFor(() => expect(second.app.whatsapp?.linkStatus().state).toBe("ready"));
    expect(whatsapp.specs).toEqual([
      { sessionDir: join(dir, "whatsapp-session"), chromiumPath: process.execPath, browserArgs },
      { sessionDir: join(dir, "whatsapp-session"), chromiumPath: process.execPath, browserArgs },
    ]);
    expect(whatsapp.clients[1]?.qrCodes).toEqual([]);
    // The chat wrote before the restart, so the service may still send to it.
    await write(second, alice, "1");
    expect(whatsapp.clients[1]?.sentTo(alice).at(-1)).toBe(
      `${toWhatsApp(second.app.context.t("en", "onboarding.consent"))}\n\n1. ${second.app.context.t("en", "onboarding.agree")}\n2. ${second.app.context.t("en", "onboarding.decline")}`,
    );
  });

  it("runs without a browser", async () => {
    const harness = await startApp(appConfig(temporaryDir(), moduleOneContent(), { WHATSAPP_CHROMIUM_PATH: "/nonexistent/chromium" }));
    await vi.waitFor(() => expect(harness.app.whatsapp?.linkStatus().state).toBe("failed"));
    expect(harness.whatsapp.clients).toEqual([]);
    const health = await fetch(`${harness.baseUrl}/health`);
    expect(health.status).toBe(200);
    const page = await (await fetch(`${harness.baseUrl}/whatsapp/qr?token=${token}`)).text();
    expect(page).toContain('<main data-state="failed">');
    expect(page).toContain("Chromium was not found at /nonexistent/chromium.");
  });

  it("holds bulk while paused and answers learners", async () => {
    const clock = { time: Date.UTC(2026, 2, 1, 12, 0, 0) };
    const harness = await startApp(appConfig(temporaryDir(), moduleOneContent(), { WHATSAPP_SEND_PAUSED: "true" }), new FakeWhatsApp(), { now: () => clock.time });
    await linked(harness);
    await write(harness, alice, "hello");
    const { app } = harness;
    app.store.enqueue(app.store.db, null, "whatsapp", alice, [{ text: "weekly release" }], "bulk", clock.time);
    app.dispatcher.kick();
    await vi.waitFor(() => expect(app.whatsapp?.guardStats().held.paused).toBe(1));
    await write(harness, alice, "1");
    const sent = harness.whatsapp.client.sentTo(alice);
    expect(sent).toHaveLength(2);
    expect(sent).not.toContain("weekly release");
    const held = app.database.sqlite.prepare("select status, attempts, not_before, error from outbox where lane = 'bulk'").get();
    expect(held).toEqual({
      status: "pending",
      attempts: 0,
      not_before: clock.time + 60_000,
      error: "paused: WHATSAPP_SEND_PAUSED is true, so bulk messages wait; replies to learners still go out",
    });
  });
});
