import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { createApp, type App } from "../../src/app.js";
import { configSchema } from "../../src/config.js";
import { startBotApiStandIn, type BotApiStandIn, type BotMessage } from "../support/bot-api-stand-in.js";
import { moduleOneContent } from "../support/context.js";

const token = "123456789:AAE-local-stand-in-token_0123";
let standIn: BotApiStandIn;
let app: App;

beforeAll(async () => {
  standIn = await startBotApiStandIn({ token });
  const config = configSchema.parse({
    PORT: "0",
    DATABASE_FILE: join(mkdtempSync(join(tmpdir(), "waypoints-telegram-")), "db.sqlite"),
    CONTENT_DIR: moduleOneContent(),
    TELEGRAM_BOT_TOKEN: token,
    TELEGRAM_API_ROOT: standIn.apiRoot,
    TELEGRAM_CHAT_INTERVAL_MS: "0",
  });
  app = await createApp(config, { logger: pino({ level: "silent" }) });
  await app.listen();
});

afterAll(async () => {
  await app?.close();
  await standIn?.close();
});

/** Returns the enrollment's state without the time of the last message, which every input updates. */
function progressAt(chat: number) {
  const state = app.store.stateAt("telegram", String(chat));
  return state ? { ...state, idleSince: null } : null;
}

function keyboard(message: BotMessage | undefined): { text: string; callback_data: string }[] {
  const markup = message?.reply_markup;
  if (!markup || !("inline_keyboard" in markup)) return [];
  return markup.inline_keyboard.flat().map((button) => ({ text: button.text, callback_data: (button as { callback_data: string }).callback_data }));
}

/** Waits until the chat has more than `count` bot messages and returns the newest. */
async function nextMessage(chatId: number, count: number): Promise<BotMessage> {
  return standIn.waitFor(() => {
    const messages = standIn.messages(chatId);
    return messages.length > count ? messages.at(-1) : undefined;
  }, { what: `bot message ${count + 1} in chat ${chatId}` });
}

/** Presses a button of the newest message and returns the reply that follows. */
async function press(chatId: number, choice: string): Promise<BotMessage> {
  const messages = standIn.messages(chatId);
  const last = messages.at(-1);
  const button = keyboard(last).find((candidate) => candidate.callback_data.endsWith(`:${choice}`));
  if (!last || !button) throw new Error(`no button ${choice} on the last message: ${JSON.stringify(keyboard(last))}`);
  standIn.pressButton(chatId, last.message_id, button.callback_data);
  return nextMessage(chatId, messages.length);
}

/** Waits until the newest message of the chat has a keyboard, since a reply may be several messages. */
async function settle(chatId: number): Promise<BotMessage> {
  return standIn.waitFor(() => {
    const last = standIn.messages(chatId).at(-1);
    return keyboard(last).length > 0 || /finished|terminé|terminado/.test(last?.text ?? "") ? last : undefined;
  }, { what: `a message with buttons in chat ${chatId}` });
}

describe("telegram channel", () => {
  it("registers the command list in each language", async () => {
    const calls = standIn.calls().filter((call) => call.method === "setMyCommands");
    expect(calls.map((call) => call.params.language_code ?? null)).toEqual([null, "en", "es", "fr"]);
    const french = calls.find((call) => call.params.language_code === "fr");
    expect((french?.params.commands as { command: string; description: string }[])[0]).toEqual({
      command: "start",
      description: "Commencer, ou reprendre là où vous en étiez",
    });
  });

  it("takes a learner from /start to the end of module 1", async () => {
    const chat = 1001;
    standIn.sendCommand(chat, "start");
    const welcome = await nextMessage(chat, 0);
    expect(keyboard(welcome).map((button) => button.text)).toEqual(["English", "Français", "Español"]);
    expect(welcome.parse_mode).toBe("HTML");

    await press(chat, "lang.en");
    await press(chat, "consent.yes");
    await press(chat, "role.health-worker");
    await press(chat, "pace.self");
    await press(chat, "region.africa");
    await press(chat, "zone.Africa/Nairobi");
    let last = await settle(chat);
    let guard = 0;
    let graded = 0;
    while (guard++ < 100) {
      const buttons = keyboard(last);
      const option = buttons.find((button) => /:o\./.test(button.callback_data));
      if (/You finished/.test(last.text ?? "")) break;
      if (option) {
        last = await press(chat, option.callback_data.split(":")[1]!);
        if (/^(✅|❌)/.test(last.text ?? "")) graded++;
      } else if (buttons.some((button) => button.callback_data.endsWith(":skip")) && buttons.length === 1) {
        const count = standIn.messages(chat).length;
        standIn.sendText(chat, "I would ask the child what they need first.");
        await nextMessage(chat, count);
      } else {
        await press(chat, "next");
      }
      last = await settle(chat);
    }
    expect(last.text).toMatch(/^🎉 You finished module 1: /);
    expect(graded).toBe(5);
    const state = app.store.stateAt("telegram", String(chat));
    expect(state).toMatchObject({ stage: "course", phase: "module_end", language: "en", role: "health-worker" });
    expect(Object.keys(state?.answers ?? {})).toHaveLength(6);

    const answered = standIn.calls(chat).filter((call) => call.method === "answerCallbackQuery");
    expect(answered.length).toBeGreaterThan(20);
    expect(answered.every((call) => call.status === 200)).toBe(true);
  });

  it("answers a stale button with a notice and scores nothing", async () => {
    const chat = 1002;
    standIn.sendCommand(chat, "start");
    const welcome = await nextMessage(chat, 0);
    await press(chat, "lang.fr");
    const before = progressAt(chat);
    const count = standIn.messages(chat).length;
    const old = keyboard(welcome).find((button) => button.callback_data.endsWith(":lang.es"))!;
    standIn.pressButton(chat, welcome.message_id, old.callback_data);
    const answer = await standIn.waitFor(() => standIn.calls(chat).filter((call) => call.method === "answerCallbackQuery").at(-1)?.params.text as string | undefined);
    expect(answer).toBe("Ce bouton appartient à un message précédent. Utilisez le plus récent.");
    expect(standIn.messages(chat)).toHaveLength(count);
    expect(progressAt(chat)).toEqual(before);
  });

  it("processes an update delivered twice once", async () => {
    const chat = 1003;
    const update = standIn.sendCommand(chat, "start");
    await nextMessage(chat, 0);
    standIn.injectUpdate(update);
    standIn.sendCommand(chat, "help");
    const help = await nextMessage(chat, 1);
    expect(help.text?.startsWith("Commands")).toBe(true);
    expect(standIn.messages(chat)).toHaveLength(2);
  });

  it("replies to a sticker and a voice note without changing anything", async () => {
    const chat = 1004;
    standIn.sendCommand(chat, "start");
    await nextMessage(chat, 0);
    const before = progressAt(chat);
    standIn.sendSticker(chat);
    const reply = await nextMessage(chat, 1);
    expect(reply.text).toBe("I can read text and buttons only. Please type your message, or tap a button.");
    standIn.sendVoice(chat);
    await nextMessage(chat, 2);
    expect(progressAt(chat)).toEqual(before);
  });

  it("marks a message failed when the learner blocked the bot", async () => {
    const chat = 1005;
    standIn.sendCommand(chat, "start");
    await nextMessage(chat, 0);
    standIn.block(chat);
    app.receive("telegram", String(chat), null, { type: "command", command: "help", args: "" });
    const row = await standIn.waitFor(() => {
      const found = app.database.sqlite.prepare("select status, error from outbox where address = ? order by id desc limit 1").get(String(chat)) as { status: string; error: string } | undefined;
      return found?.status === "failed" ? found : undefined;
    });
    expect(row.error).toBe("sendMessage: 403 Forbidden: bot was blocked by the user");
  });
});
