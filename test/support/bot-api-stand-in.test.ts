import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Api, Bot, GrammyError, HttpError, InlineKeyboard, InputFile } from "grammy";
import type { Update } from "grammy/types";
import { describe, expect, it, onTestFinished } from "vitest";
import { startBotApiStandIn, type BotApiStandIn, type BotApiStandInOptions } from "./bot-api-stand-in.js";

const TOKEN = "424242:TEST-token_abc";
const CHAT = 1001;

async function start(options: BotApiStandInOptions = {}): Promise<{ standIn: BotApiStandIn; api: Api }> {
  const standIn = await startBotApiStandIn({ token: TOKEN, ...options });
  onTestFinished(() => standIn.close());
  return { standIn, api: new Api(TOKEN, { apiRoot: standIn.apiRoot }) };
}

/** Awaits a promise that must reject, and returns the rejection. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

async function grammyError(promise: Promise<unknown>): Promise<GrammyError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(GrammyError);
  return error as GrammyError;
}

/** Calls the stand-in with fetch, to check HTTP details that grammY hides. */
async function rawCall(
  standIn: BotApiStandIn,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${standIn.apiRoot}${path}`, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Starts a webhook receiver on 127.0.0.1 that responds to each request with what `respond` returns. */
async function startReceiver(
  respond: (update: Update, attempt: number) => { status: number; body?: string },
): Promise<{ url: string; received: { update: Update; headers: IncomingHttpHeaders }[] }> {
  const received: { update: Update; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const update = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Update;
      received.push({ update, headers: req.headers });
      const { status, body } = respond(update, received.length);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

describe("protocol", () => {
  it("getMe returns the bot user", async () => {
    const { api } = await start({ botUsername: "waypoints_test_bot" });
    const me = await api.getMe();
    expect(me.id).toBe(424242);
    expect(me.is_bot).toBe(true);
    expect(me.username).toBe("waypoints_test_bot");
  });

  it("wrong token fails with 401", async () => {
    const { standIn } = await start();
    const api = new Api("1:wrong", { apiRoot: standIn.apiRoot });
    const error = await grammyError(api.getMe());
    expect(error.error_code).toBe(401);
    expect(error.description).toBe("Unauthorized");
  });

  it("unknown method fails with HTTP 404", async () => {
    const { standIn } = await start();
    const { status, body } = await rawCall(standIn, `/bot${TOKEN}/sendTelepathy`, { method: "POST" });
    expect(status).toBe(404);
    expect(body).toEqual({ ok: false, error_code: 404, description: "Not Found: method not found" });
  });

  it("accepts GET, form bodies and any method case", async () => {
    const { standIn } = await start();
    standIn.openChat(CHAT);

    const viaGet = await rawCall(standIn, `/bot${TOKEN}/sendmessage?chat_id=${CHAT}&text=from%20get`);
    expect(viaGet.status).toBe(200);
    expect((viaGet.body.result as { text: string }).text).toBe("from get");

    const keyboard = JSON.stringify({ inline_keyboard: [[{ text: "Go", callback_data: "go" }]] });
    const form = new URLSearchParams({ chat_id: String(CHAT), text: "from form", reply_markup: keyboard });
    const viaForm = await rawCall(standIn, `/bot${TOKEN}/sendMessage`, { method: "POST", body: form });
    expect(viaForm.status).toBe(200);
    expect(standIn.messages(CHAT)[1]?.reply_markup).toEqual(JSON.parse(keyboard));
    expect(standIn.calls(CHAT).map((call) => call.method)).toEqual(["sendMessage", "sendMessage"]);
  });

  it("errors carry HTTP status equal to error_code", async () => {
    const { standIn } = await start();
    const { status, body } = await rawCall(standIn, `/bot${TOKEN}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chat_id: CHAT, text: "" }),
    });
    expect(status).toBe(400);
    expect(body).toEqual({ ok: false, error_code: 400, description: "Bad Request: message text is empty" });
  });
});

describe("sendMessage", () => {
  it("returns a full Message", async () => {
    const { standIn, api } = await start();
    standIn.sendText(CHAT, "hello", { first_name: "Amina", language_code: "fr" });
    const before = Math.floor(Date.now() / 1000);

    const first = await api.sendMessage(CHAT, "Welcome");
    const second = await api.sendMessage(CHAT, "Next");

    expect(first.message_id).toBe(2); // the user's message took id 1
    expect(second.message_id).toBe(3);
    expect(first.chat).toEqual({ id: CHAT, type: "private", first_name: "Amina" });
    expect(first.from?.id).toBe(424242);
    expect(first.from?.is_bot).toBe(true);
    expect(first.text).toBe("Welcome");
    expect(first.date).toBeGreaterThanOrEqual(before);
    expect(first.date).toBeLessThanOrEqual(before + 2);
    expect(standIn.messages(CHAT).map((message) => message.text)).toEqual(["Welcome", "Next"]);
    expect(standIn.stats().sent).toBe(2);
  });

  it("keeps message ids separate per chat", async () => {
    const { standIn, api } = await start();
    standIn.openChat(1);
    standIn.openChat(2);
    expect((await api.sendMessage(1, "a")).message_id).toBe(1);
    expect((await api.sendMessage(2, "b")).message_id).toBe(1);
    expect((await api.sendMessage(1, "c")).message_id).toBe(2);
  });

  it("parses HTML into text and entities", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const message = await api.sendMessage(
      CHAT,
      '  <b>Bold</b> &lt;3 <a href="https://example.org">link</a> <blockquote expandable>q</blockquote>\n',
      { parse_mode: "HTML" },
    );
    expect(message.text).toBe("Bold <3 link q");
    expect(message.entities).toEqual([
      { type: "bold", offset: 0, length: 4 },
      { type: "text_link", offset: 8, length: 4, url: "https://example.org/" },
      { type: "expandable_blockquote", offset: 13, length: 1 },
    ]);
    const stored = standIn.messages(CHAT)[0];
    expect(stored?.parse_mode).toBe("HTML");
    expect(stored?.source).toContain("<b>Bold</b>");
  });

  it("rejects invalid HTML as Telegram does", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const cases: [string, string][] = [
      ["<b>open", `Can't find end tag corresponding to start tag "b"`],
      ["<div>x</div>", `Unsupported start tag "div" at byte offset 0`],
      ["é <br>", `Unsupported start tag "br" at byte offset 3`],
      ["<b>x</i>", `Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`],
      ["x</b>", "Unexpected end tag at byte offset 1"],
      ["a <b", "Unclosed start tag at byte offset 2"],
      ["1 < 2", `Unsupported start tag "" at byte offset 2`],
      ['<span class="x">s</span>', `Tag "span" must have class "tg-spoiler" at byte offset 0`],
    ];
    for (const [html, detail] of cases) {
      const error = await grammyError(api.sendMessage(CHAT, html, { parse_mode: "HTML" }));
      expect(error.error_code, html).toBe(400);
      expect(error.description, html).toBe(`Bad Request: can't parse entities: ${detail}`);
    }
    expect(standIn.messages(CHAT)).toEqual([]);
  });

  it("accepts every supported tag", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const html =
      "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><s>x</s><tg-spoiler>p</tg-spoiler>" +
      '<code>c</code><pre><code class="language-ts">t</code></pre><blockquote>q</blockquote>&amp;&quot;&gt;';
    const message = await api.sendMessage(CHAT, html, { parse_mode: "HTML" });
    expect(message.text).toBe('bsieuxpctq&">');
    expect(message.entities?.map((entity) => entity.type)).toEqual([
      "bold",
      "bold",
      "italic",
      "italic",
      "underline",
      "strikethrough",
      "spoiler",
      "code",
      "pre",
      "blockquote",
    ]);
    expect(message.entities?.[8]).toEqual({ type: "pre", offset: 8, length: 1, language: "ts" });
  });

  it("rejects empty and too long text", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    expect((await grammyError(api.sendMessage(CHAT, ""))).description).toBe("Bad Request: message text is empty");
    expect((await grammyError(api.sendMessage(CHAT, " \n "))).description).toBe("Bad Request: message text is empty");
    expect((await grammyError(api.sendMessage(CHAT, "<b></b>", { parse_mode: "HTML" }))).description).toBe(
      "Bad Request: message text is empty",
    );
    expect((await grammyError(api.sendMessage(CHAT, "x".repeat(4097)))).description).toBe(
      "Bad Request: message is too long",
    );
    const longest = await api.sendMessage(CHAT, `<b>${"x".repeat(4096)}</b>`, { parse_mode: "HTML" });
    expect(longest.text).toHaveLength(4096);
  });

  it("rejects callback_data over 64 bytes", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const keyboard = (data: string) => ({ reply_markup: new InlineKeyboard().text("Go", data) });
    await api.sendMessage(CHAT, "ok", keyboard("x".repeat(64)));
    for (const data of ["x".repeat(65), "é".repeat(33)]) {
      const error = await grammyError(api.sendMessage(CHAT, "too long", keyboard(data)));
      expect(error.error_code).toBe(400);
      expect(error.description).toBe("Bad Request: BUTTON_DATA_INVALID");
    }
  });

  it("unwritable chats fail with 403", async () => {
    const { standIn, api } = await start();
    const never = await grammyError(api.sendMessage(7, "hi"));
    expect(never.error_code).toBe(403);
    expect(never.description).toBe("Forbidden: bot can't initiate conversation with a user");

    standIn.sendText(8, "hi");
    standIn.block(8);
    const blocked = await grammyError(api.sendMessage(8, "still there?"));
    expect(blocked.error_code).toBe(403);
    expect(blocked.description).toBe("Forbidden: bot was blocked by the user");

    standIn.sendText(9, "hi");
    standIn.deactivate(9);
    const deactivated = await grammyError(api.sendMessage(9, "hello?"));
    expect(deactivated.error_code).toBe(403);
    expect(deactivated.description).toBe("Forbidden: user is deactivated");

    standIn.unblock(8);
    await api.sendMessage(8, "welcome back");
    const kinds = standIn.pendingUpdates().map((update) => update.my_chat_member?.new_chat_member.status ?? "message");
    expect(kinds).toEqual(["message", "kicked", "message", "member"]);
  });

  it("links replies to the replied message", async () => {
    const { standIn, api } = await start();
    const { message } = standIn.sendText(CHAT, "question");
    const reply = await api.sendMessage(CHAT, "answer", { reply_parameters: { message_id: message?.message_id ?? 0 } });
    expect(reply.reply_to_message?.text).toBe("question");
    const missing = await grammyError(api.sendMessage(CHAT, "x", { reply_parameters: { message_id: 99 } }));
    expect(missing.description).toBe("Bad Request: message to be replied not found");
  });
});

describe("flood limits", () => {
  it("per-chat limit fails with 429", async () => {
    const { standIn, api } = await start({ limits: { perChatPerSecond: 1, perChatBurst: 2 } });
    standIn.openChat(CHAT);
    await api.sendMessage(CHAT, "1");
    await api.sendMessage(CHAT, "2");
    const error = await grammyError(api.sendMessage(CHAT, "3"));
    expect(error.error_code).toBe(429);
    expect(error.description).toBe("Too Many Requests: retry after 1");
    expect(error.parameters.retry_after).toBe(1);
    expect(standIn.stats()).toEqual({ calls: 3, sent: 2, tooManyRequests: 1 });

    standIn.openChat(CHAT + 1);
    await api.sendMessage(CHAT + 1, "other chat has its own bucket");
  });

  it("applies the global limit across chats", async () => {
    const { standIn, api } = await start({ limits: { perChatPerSecond: Infinity, globalPerSecond: 0.5, globalBurst: 3 } });
    for (const chatId of [1, 2, 3, 4]) standIn.openChat(chatId);
    for (const chatId of [1, 2, 3]) await api.sendMessage(chatId, "hi");
    const error = await grammyError(api.sendMessage(4, "hi"));
    expect(error.error_code).toBe(429);
    expect(error.parameters.retry_after).toBe(2);
  });

  it("refills after retry_after", async () => {
    const { standIn, api } = await start({ limits: { perChatPerSecond: 10, perChatBurst: 1 } });
    standIn.openChat(CHAT);
    await api.sendMessage(CHAT, "1");
    const error = await grammyError(api.sendMessage(CHAT, "2"));
    expect(error.parameters.retry_after).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await api.sendMessage(CHAT, "3");
    expect(standIn.stats().tooManyRequests).toBe(1);
  });

  it("is off by default", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    for (let i = 0; i < 40; i++) await api.sendMessage(CHAT, `message ${i}`);
    expect(standIn.stats().tooManyRequests).toBe(0);
  });
});

describe("getUpdates", () => {
  it("returns [] after the timeout", async () => {
    const { api } = await start();
    const startedAt = Date.now();
    const updates = await api.getUpdates({ timeout: 1 });
    expect(updates).toEqual([]);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(950);
  });

  it("returns as soon as an update arrives", async () => {
    const { standIn, api } = await start();
    const startedAt = Date.now();
    const polling = api.getUpdates({ timeout: 10 });
    await standIn.waitFor(() => standIn.calls().some((call) => call.method === "getUpdates"), { what: "getUpdates" });
    const injected = standIn.sendText(CHAT, "ping");
    const updates = await polling;
    expect(updates).toEqual([injected]);
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });

  it("honours offset and limit", async () => {
    const { standIn, api } = await start();
    const first = standIn.sendText(CHAT, "one");
    const second = standIn.sendText(CHAT, "two");
    const third = standIn.sendText(CHAT, "three");

    expect((await api.getUpdates({ limit: 2 })).map((update) => update.update_id)).toEqual([
      first.update_id,
      second.update_id,
    ]);
    expect((await api.getUpdates({ offset: second.update_id })).map((update) => update.update_id)).toEqual([
      second.update_id,
      third.update_id,
    ]);
    // The first update was confirmed by the offset and is gone even without one.
    expect((await api.getUpdates()).map((update) => update.update_id)).toEqual([second.update_id, third.update_id]);
    expect((await api.getUpdates({ offset: -1 })).map((update) => update.update_id)).toEqual([third.update_id]);
    expect(await api.getUpdates({ offset: third.update_id + 1 })).toEqual([]);
    expect(standIn.pendingUpdates()).toEqual([]);
  });

  it("delivers duplicate update ids", async () => {
    const { standIn, api } = await start();
    const original = standIn.sendText(CHAT, "once");
    standIn.injectUpdate(original);
    const updates = await api.getUpdates();
    expect(updates.map((update) => update.update_id)).toEqual([original.update_id, original.update_id]);
  });

  it("ends an older poll with 409 when a new one starts", async () => {
    const { api } = await start();
    const older = grammyError(api.getUpdates({ timeout: 5 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await api.getUpdates();
    const error = await older;
    expect(error.error_code).toBe(409);
    expect(error.description).toBe(
      "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    );
  });
});

describe("webhook", () => {
  it("posts updates with the secret header", async () => {
    const { standIn, api } = await start();
    const receiver = await startReceiver(() => ({ status: 200 }));
    expect(await api.setWebhook(receiver.url, { secret_token: "s3cret_TOKEN-1" })).toBe(true);

    const update = standIn.sendText(CHAT, "via webhook");
    await standIn.waitFor(() => receiver.received.length === 1, { what: "webhook delivery" });
    expect(receiver.received[0]?.update).toEqual(update);
    expect(receiver.received[0]?.headers["x-telegram-bot-api-secret-token"]).toBe("s3cret_TOKEN-1");
    await standIn.waitFor(() => standIn.pendingUpdates().length === 0, { what: "the update to leave the queue" });

    const info = await api.getWebhookInfo();
    expect(info.url).toBe(receiver.url);
    expect(info.pending_update_count).toBe(0);

    const conflict = await grammyError(api.getUpdates());
    expect(conflict.error_code).toBe(409);
    expect(conflict.description).toBe(
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );

    await api.deleteWebhook();
    expect(await api.getUpdates()).toEqual([]);
  });

  it("retries until the receiver accepts", async () => {
    const { standIn, api } = await start({ webhookRetryMs: 20 });
    const receiver = await startReceiver((_, attempt) => ({ status: attempt < 3 ? 500 : 200 }));
    await api.setWebhook(receiver.url);
    standIn.sendText(CHAT, "retry me");
    await standIn.waitFor(() => receiver.received.length === 3, { what: "three delivery attempts" });
    const ids = receiver.received.map((entry) => entry.update.update_id);
    expect(new Set(ids).size).toBe(1);
    const info = await api.getWebhookInfo();
    expect(info.last_error_message).toBe("Wrong response from the webhook: 500 Internal Server Error");
  });

  it("runs a method from the webhook response", async () => {
    const { standIn, api } = await start();
    const receiver = await startReceiver((update) => ({
      status: 200,
      body: JSON.stringify({ method: "sendMessage", chat_id: update.message?.chat.id, text: "replied in the response" }),
    }));
    await api.setWebhook(receiver.url);
    standIn.sendText(CHAT, "hi");
    const message = await standIn.waitFor(() => standIn.messages(CHAT)[0], { what: "the webhook reply message" });
    expect(message.text).toBe("replied in the response");
    expect(standIn.calls(CHAT)[0]?.viaWebhookReply).toBe(true);
  });

  it("rejects non-loopback URLs", async () => {
    const { api } = await start();
    const error = await grammyError(api.setWebhook("https://example.org/hook"));
    expect(error.error_code).toBe(400);
    expect(error.description).toMatch(/^Bad Request: bad webhook: /);
  });
});

describe("bot round trip", () => {
  it("bot.start receives a callback query and answers it", async () => {
    const { standIn } = await start();
    const bot = new Bot(TOKEN, { client: { apiRoot: standIn.apiRoot } });
    const pressed: string[] = [];
    bot.command("start", (ctx) => ctx.reply("Pick one", { reply_markup: new InlineKeyboard().text("A", "pick:a") }));
    bot.callbackQuery(/^pick:/, async (ctx) => {
      pressed.push(ctx.callbackQuery.data);
      await ctx.answerCallbackQuery({ text: "Noted" });
      await ctx.editMessageText("You picked A");
    });
    const running = bot.start();
    onTestFinished(async () => {
      if (bot.isRunning()) await bot.stop();
      await running;
    });

    standIn.sendCommand(CHAT, "start");
    const prompt = await standIn.waitFor(() => standIn.messages(CHAT)[0], { what: "the /start reply" });
    expect(prompt.text).toBe("Pick one");

    const press = standIn.pressButton(CHAT, prompt.message_id, "pick:a");
    await standIn.waitFor(() => standIn.messages(CHAT)[0]?.text === "You picked A", { what: "the edited prompt" });
    expect(pressed).toEqual(["pick:a"]);
    const answer = standIn.calls(CHAT).find((call) => call.method === "answerCallbackQuery");
    expect(answer?.status).toBe(200);
    expect(answer?.params.callback_query_id).toBe(press.callback_query?.id);
    expect(answer?.params.text).toBe("Noted");
    // Editing without reply_markup removes the keyboard, as on Telegram.
    expect(standIn.messages(CHAT)[0]?.reply_markup).toBeUndefined();

    await bot.stop();
    expect(standIn.pendingUpdates()).toEqual([]);
  });

  it("handleUpdate works with injected updates", async () => {
    const { standIn } = await start();
    const bot = new Bot(TOKEN, { client: { apiRoot: standIn.apiRoot } });
    bot.on("message:sticker", (ctx) => ctx.reply("Stickers are not supported"));
    bot.on("message:voice", (ctx) => ctx.reply("Voice is not supported"));
    bot.on("message:photo", (ctx) => ctx.reply(`Photo: ${ctx.message.caption ?? "no caption"}`));
    await bot.init();

    await bot.handleUpdate(standIn.sendSticker(CHAT));
    await bot.handleUpdate(standIn.sendVoice(CHAT));
    await bot.handleUpdate(standIn.sendPhoto(CHAT, "a view"));
    expect(standIn.messages(CHAT).map((message) => message.text)).toEqual([
      "Stickers are not supported",
      "Voice is not supported",
      "Photo: a view",
    ]);
  });

  it("pressButton rejects buttons that do not exist", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const message = await api.sendMessage(CHAT, "x", { reply_markup: new InlineKeyboard().text("A", "a") });
    expect(() => standIn.pressButton(CHAT, message.message_id, "b")).toThrow(/no button with callback_data "b"/);
    expect(() => standIn.pressButton(CHAT, 99, "a")).toThrow(/has no bot message 99/);
  });

  it("answering a callback query twice fails", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const message = await api.sendMessage(CHAT, "x", { reply_markup: new InlineKeyboard().text("A", "a") });
    const id = standIn.pressButton(CHAT, message.message_id, "a").callback_query?.id ?? "";
    expect(await api.answerCallbackQuery(id)).toBe(true);
    const error = await grammyError(api.answerCallbackQuery(id));
    expect(error.description).toBe(
      "Bad Request: query is too old and response timeout expired or query ID is invalid",
    );
  });
});

describe("user messages", () => {
  it("commands carry a bot_command entity", async () => {
    const { standIn } = await start();
    const command = standIn.sendCommand(CHAT, "/start", "ref-42").message;
    expect(command?.text).toBe("/start ref-42");
    expect(command?.entities).toEqual([{ type: "bot_command", offset: 0, length: 6 }]);
    const typed = standIn.sendText(CHAT, "please /help").message;
    expect(typed?.entities).toEqual([{ type: "bot_command", offset: 7, length: 5 }]);
    expect(standIn.sendText(CHAT, "plain").message?.entities).toBeUndefined();
  });

  it("media updates carry their fields", async () => {
    const { standIn } = await start();
    expect(standIn.sendSticker(CHAT).message?.sticker?.type).toBe("regular");
    expect(standIn.sendVoice(CHAT).message?.voice?.mime_type).toBe("audio/ogg");
    expect(standIn.sendPhoto(CHAT).message?.photo?.length).toBeGreaterThan(0);
  });

  it("blocked users cannot send", async () => {
    const { standIn } = await start();
    standIn.block(CHAT);
    expect(() => standIn.sendText(CHAT, "hi")).toThrow(/unblock\(1001\)/);
  });
});

describe("editing and deleting", () => {
  it("editMessageText changes the stored message", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const keyboard = new InlineKeyboard().text("A", "a");
    const message = await api.sendMessage(CHAT, "v1", { reply_markup: keyboard });
    const edited = await api.editMessageText(CHAT, message.message_id, "<i>v2</i>", {
      parse_mode: "HTML",
      reply_markup: keyboard,
    });
    expect(edited).toMatchObject({ text: "v2", entities: [{ type: "italic", offset: 0, length: 2 }] });
    const stored = standIn.messages(CHAT)[0];
    expect(stored?.text).toBe("v2");
    expect(stored?.edit_date).toBeTypeOf("number");
    expect(stored?.reply_markup).toEqual(keyboard);

    const same = await grammyError(
      api.editMessageText(CHAT, message.message_id, "<i>v2</i>", { parse_mode: "HTML", reply_markup: keyboard }),
    );
    expect(same.description).toMatch(/^Bad Request: message is not modified: /);
    const missing = await grammyError(api.editMessageText(CHAT, 99, "x"));
    expect(missing.description).toBe("Bad Request: message to edit not found");
  });

  it("editMessageReplyMarkup replaces the keyboard", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const message = await api.sendMessage(CHAT, "x", { reply_markup: new InlineKeyboard().text("A", "a") });
    await api.editMessageReplyMarkup(CHAT, message.message_id, { reply_markup: new InlineKeyboard().text("B", "b") });
    expect(standIn.messages(CHAT)[0]?.message.reply_markup?.inline_keyboard[0]?.[0]?.text).toBe("B");
    await api.editMessageReplyMarkup(CHAT, message.message_id);
    expect(standIn.messages(CHAT)[0]?.reply_markup).toBeUndefined();
  });

  it("deleteMessage removes the message", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const message = await api.sendMessage(CHAT, "x");
    expect(await api.deleteMessage(CHAT, message.message_id)).toBe(true);
    expect(standIn.messages(CHAT)).toEqual([]);
    const again = await grammyError(api.deleteMessage(CHAT, message.message_id));
    expect(again.description).toBe("Bad Request: message to delete not found");
  });

  it("sendChatAction checks the action", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    expect(await api.sendChatAction(CHAT, "typing")).toBe(true);
    const error = await grammyError(api.raw.sendChatAction({ chat_id: CHAT, action: "dancing" as "typing" }));
    expect(error.description).toBe("Bad Request: wrong parameter action in request");
  });
});

describe("commands", () => {
  it("stores commands per scope and language", async () => {
    const { api } = await start();
    await api.setMyCommands([{ command: "start", description: "Start the course" }]);
    await api.setMyCommands([{ command: "start", description: "Commencer" }], { language_code: "fr" });
    await api.setMyCommands([{ command: "progress", description: "Your progress" }], {
      scope: { type: "chat", chat_id: CHAT },
    });
    expect(await api.getMyCommands()).toEqual([{ command: "start", description: "Start the course" }]);
    expect(await api.getMyCommands({ language_code: "fr" })).toEqual([{ command: "start", description: "Commencer" }]);
    expect(await api.getMyCommands({ scope: { type: "chat", chat_id: CHAT } })).toEqual([
      { command: "progress", description: "Your progress" },
    ]);
    expect(await api.getMyCommands({ language_code: "es" })).toEqual([]);
    await api.deleteMyCommands();
    expect(await api.getMyCommands()).toEqual([]);
  });

  it("rejects invalid command names", async () => {
    const { api } = await start();
    const error = await grammyError(api.setMyCommands([{ command: "Start", description: "x" }]));
    expect(error.description).toBe("Bad Request: BOT_COMMAND_INVALID");
  });
});

describe("files and polls", () => {
  it("sendPhoto accepts an upload and a file_id", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const sent = await api.sendPhoto(CHAT, new InputFile(Buffer.from("fake jpeg bytes"), "map.jpg"), {
      caption: "<b>Route</b>",
      parse_mode: "HTML",
    });
    const largest = sent.photo?.at(-1);
    expect(largest?.file_size).toBe(15);
    expect(sent.caption).toBe("Route");
    expect(sent.caption_entities).toEqual([{ type: "bold", offset: 0, length: 5 }]);
    expect(standIn.messages(CHAT)[0]?.upload).toMatchObject({ filename: "map.jpg", size: 15 });

    const again = await api.sendPhoto(CHAT, largest?.file_id ?? "");
    expect(again.photo?.at(-1)?.file_unique_id).toBe(largest?.file_unique_id);
    const wrong = await grammyError(api.sendPhoto(CHAT, "/tmp/map.jpg"));
    expect(wrong.description).toBe("Bad Request: wrong file identifier/HTTP URL specified");
  });

  it("sendDocument returns the document", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const sent = await api.sendDocument(CHAT, new InputFile(Buffer.from("%PDF-1.4"), "certificate.pdf"));
    expect(sent.document).toMatchObject({ file_name: "certificate.pdf", mime_type: "application/pdf", file_size: 8 });
    const byUrl = await api.sendDocument(CHAT, "http://127.0.0.1/guide.pdf");
    expect(byUrl.document?.file_name).toBe("guide.pdf");
    expect(standIn.messages(CHAT).map((message) => message.kind)).toEqual(["document", "document"]);
    const empty = await grammyError(api.sendDocument(CHAT, new InputFile(Buffer.alloc(0), "empty.txt")));
    expect(empty.description).toBe("Bad Request: file must be non-empty");
  });

  it("sendPoll returns the poll", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const sent = await api.sendPoll(CHAT, "Which route?", [{ text: "North" }, { text: "South" }]);
    expect(sent.poll?.question).toBe("Which route?");
    expect(sent.poll?.options.map((option) => option.text)).toEqual(["North", "South"]);
    expect(sent.poll?.is_anonymous).toBe(true);
    const one = await grammyError(api.sendPoll(CHAT, "Only?", [{ text: "Yes" }]));
    expect(one.description).toBe("Bad Request: poll must have at least 2 option");
  });
});

describe("fault injection", () => {
  it("fails the next calls with a status", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    standIn.failNext("sendMessage", 2, { status: 500 });
    for (let i = 0; i < 2; i++) {
      const error = await grammyError(api.sendMessage(CHAT, "x"));
      expect(error.error_code).toBe(500);
      expect(error.description).toBe("Internal Server Error");
    }
    await api.sendMessage(CHAT, "third time lucky");
    expect(standIn.calls(CHAT).map((call) => call.status)).toEqual([500, 500, 200]);
  });

  it("injects 429 with retry_after", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    standIn.failNext("sendMessage", 1, { status: 429, retryAfter: 7 });
    const error = await grammyError(api.sendMessage(CHAT, "x"));
    expect(error.description).toBe("Too Many Requests: retry after 7");
    expect(error.parameters.retry_after).toBe(7);
    expect(standIn.stats().tooManyRequests).toBe(1);
  });

  it("drops the connection as HttpError", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    standIn.failNext("sendmessage", 1, "network");
    const error = await rejection(api.sendMessage(CHAT, "x"));
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).message).toBe("Network request for 'sendMessage' failed!");
    expect(standIn.calls(CHAT)[0]?.status).toBeNull();
    expect(standIn.messages(CHAT)).toEqual([]);
    await api.sendMessage(CHAT, "recovered");
  });

  it("a non-JSON 502 surfaces as HttpError", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    standIn.failNext("sendMessage", 1, { status: 502, rawBody: "<html><body>502 Bad Gateway</body></html>" });
    const error = await rejection(api.sendMessage(CHAT, "x"));
    expect(error).toBeInstanceOf(HttpError);
    expect(standIn.calls(CHAT)[0]?.status).toBe(502);
  });
});

describe("response delay", () => {
  it("stores the message before the delayed response", async () => {
    const { standIn, api } = await start({ responseDelayMs: 200 });
    standIn.openChat(CHAT);
    const startedAt = performance.now();
    let answered = false;
    const sending = api.sendMessage(CHAT, "held").then((message) => {
      answered = true;
      return message;
    });
    await standIn.waitFor(() => standIn.calls(CHAT)[0]?.status === 200, { what: "the call's status" });
    expect(answered).toBe(false);
    expect(standIn.messages(CHAT).map((message) => message.text)).toEqual(["held"]);
    expect(standIn.stats().sent).toBe(1);

    const message = await sending;
    expect(message.text).toBe("held");
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(195);
  });

  it("rejects a negative delay", async () => {
    const error = await rejection(startBotApiStandIn({ token: TOKEN, responseDelayMs: -1 }));
    expect((error as Error).message).toBe("responseDelayMs must be a finite number of 0 or more, got -1");
  });
});

describe("waitFor", () => {
  it("resolves with the predicate value", async () => {
    const { standIn, api } = await start();
    standIn.openChat(CHAT);
    const waiting = standIn.waitFor(() => standIn.messages(CHAT).find((message) => message.text === "done"));
    await api.sendMessage(CHAT, "working");
    await api.sendMessage(CHAT, "done");
    expect((await waiting).message_id).toBe(2);
  });

  it("rejects naming what was awaited", async () => {
    const { standIn } = await start();
    const error = await rejection(standIn.waitFor(() => false, { timeoutMs: 50, what: "a reply to /start" }));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^Timed out after 50 ms waiting for a reply to \/start; last calls: none$/);
  });

  it("rejects when the stand-in closes", async () => {
    const standIn = await startBotApiStandIn({ token: TOKEN });
    const waiting = rejection(standIn.waitFor(() => false, { what: "nothing" }));
    await standIn.close();
    expect(((await waiting) as Error).message).toBe("Bot API stand-in closed while waiting for nothing");
  });
});
