import { Bot, GrammyError, HttpError, webhookCallback, type Context } from "grammy";
import type { InlineKeyboardButton, LanguageCode } from "grammy/types";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { SendError, type ChannelSender } from "../dispatcher.js";
import type { Inbound, Outbound } from "../engine/types.js";
import { imageFallback, splitForLimit, toHtml } from "../render/markdown.js";
import type { Locales } from "../i18n.js";
import { commandNames } from "../../flows/commands.js";

/** Telegram's maximum message length, in characters. */
export const telegramMessageLimit = 4096;
/** Telegram's maximum caption length for a photo, in characters. */
export const telegramCaptionLimit = 1024;

export interface TelegramOptions {
  token: string;
  apiRoot: string;
  logger: Logger;
  locales: Locales;
  /** Handles one normalised update; the host runs the engine and commits. Returns a notice for a button press. */
  onInbound: (address: string, updateId: string, inbound: Inbound) => Promise<string | undefined>;
  /** Minimum gap between two messages to one chat, in ms (Telegram: about one a second). */
  perChatIntervalMs?: number;
  /** Maximum messages per second across chats (Telegram: about 30). */
  globalPerSecond?: number;
}

/** The Telegram channel: turns updates into inbound messages and sends the outbox through the Bot API. */
export class TelegramChannel implements ChannelSender {
  readonly channel = "telegram";
  readonly bot: Bot;
  readonly perChatIntervalMs: number;
  readonly globalPerSecond: number;
  private polling: Promise<void> | null = null;

  constructor(private readonly options: TelegramOptions) {
    this.perChatIntervalMs = options.perChatIntervalMs ?? 1000;
    this.globalPerSecond = options.globalPerSecond ?? 30;
    this.bot = new Bot(options.token, { client: { apiRoot: options.apiRoot } });
    this.bot.on("callback_query:data", (context) => this.handle(context, { type: "choice", data: context.callbackQuery.data }));
    this.bot.on("message:text", (context) => this.handle(context, parseText(context.message.text)));
    this.bot.on("message", (context) => this.handle(context, { type: "unsupported", media: mediaKind(context) }));
    this.bot.catch((error) => {
      options.logger.error({ err: error.error, updateId: error.ctx.update.update_id }, "telegram update handler failed");
    });
  }

  private async handle(context: Context, inbound: Inbound): Promise<void> {
    const chat = context.chat;
    if (!chat || chat.type !== "private") return;
    const notice = await this.options.onInbound(String(chat.id), String(context.update.update_id), inbound);
    if (context.callbackQuery) {
      await context.answerCallbackQuery(notice ? { text: notice } : undefined).catch((error: unknown) => {
        this.options.logger.warn({ error: (error as Error)?.message, updateId: context.update.update_id }, "answerCallbackQuery failed");
      });
    }
  }

  /** Registers the command list in every language, fetches the bot's identity. */
  async init(): Promise<void> {
    await this.bot.init();
    const { locales } = this.options;
    const commands = (language: string) =>
      commandNames.map((command) => ({ command, description: locales.t(language, `commands.${command}`) }));
    await this.bot.api.setMyCommands(commands("en"));
    for (const language of locales.languages) {
      await this.bot.api.setMyCommands(commands(language), { language_code: language as LanguageCode });
    }
  }

  /** Starts long polling in the background. */
  startPolling(): void {
    this.polling = this.bot.start({
      drop_pending_updates: false,
      allowed_updates: ["message", "callback_query"],
      onStart: (info) => this.options.logger.info({ bot: info.username }, "telegram polling started"),
    });
    // grammY's network errors wrap a fetch error whose message contains the
    // request URL with the bot token, so only the outer message is logged.
    this.polling.catch((error: unknown) =>
      this.options.logger.error({ error: (error as Error)?.message ?? String(error) }, "telegram polling stopped"),
    );
  }

  /** Sets the webhook and serves it on the Fastify server, checking the secret token. */
  async useWebhook(server: FastifyInstance, publicUrl: string, secretToken: string): Promise<void> {
    const path = "/telegram/webhook";
    server.post(path, webhookCallback(this.bot, "fastify", { secretToken }));
    await this.bot.api.setWebhook(`${publicUrl}${path}`, {
      secret_token: secretToken,
      allowed_updates: ["message", "callback_query"],
    });
    this.options.logger.info({ url: `${publicUrl}${path}` }, "telegram webhook set");
  }

  async stop(): Promise<void> {
    if (this.bot.isRunning()) await this.bot.stop();
    await this.polling?.catch(() => undefined);
  }

  /**
   * Sends one message, split at Telegram's length limit, with the buttons on
   * the last part. An image goes first, with the text as caption when it fits.
   * When Telegram rejects the image, its description and link go in the text.
   */
  async send(address: string, message: Outbound): Promise<string | null> {
    let text = message.text;
    if (message.image) {
      const fits = toHtml(text).length <= telegramCaptionLimit;
      const keyboard = fits && message.choices ? toKeyboard(message.choices) : undefined;
      try {
        const sent = await this.bot.api.sendPhoto(address, message.image.url, {
          caption: fits ? toHtml(text) : toHtml(message.image.alt),
          parse_mode: "HTML",
          ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
        });
        if (fits) return String(sent.message_id);
      } catch (error) {
        const failure = classify(error);
        if (failure.kind !== "rejected") throw new SendError(failure);
        this.options.logger.warn({ error: failure.message }, "image rejected: sending its link as text");
        text = `${imageFallback(message.image)}\n\n${text}`;
      }
    }
    const parts = splitForLimit(text, telegramMessageLimit, toHtml);
    let lastId: string | null = null;
    for (const [index, part] of parts.entries()) {
      const last = index === parts.length - 1;
      const keyboard = last && message.choices ? toKeyboard(message.choices) : undefined;
      try {
        const sent = await this.bot.api.sendMessage(address, toHtml(part), {
          parse_mode: "HTML",
          link_preview_options: { is_disabled: true },
          ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
        });
        lastId = String(sent.message_id);
      } catch (error) {
        throw new SendError(classify(error));
      }
    }
    return lastId;
  }
}

function toKeyboard(rows: NonNullable<Outbound["choices"]>): InlineKeyboardButton[][] {
  return rows.map((row) => row.map((choice) => ({ text: choice.label, callback_data: choice.data })));
}

/** Classifies a Bot API error for the dispatcher. */
export function classify(error: unknown): SendError["failure"] {
  if (error instanceof GrammyError) {
    const description = `${error.method}: ${error.error_code} ${error.description}`;
    if (error.error_code === 429) {
      const seconds = error.parameters.retry_after ?? 1;
      return { kind: "rate_limited", retryAfterMs: seconds * 1000, global: false, message: description };
    }
    if (error.error_code === 403) return { kind: "unreachable", message: description };
    if (error.error_code >= 500) return { kind: "transient", message: description };
    return { kind: "rejected", message: description };
  }
  if (error instanceof HttpError) return { kind: "transient", message: `network error: ${error.message}` };
  return { kind: "transient", message: String((error as Error)?.message ?? error) };
}

/** Splits `/command args` (with an optional @botname) from plain text. */
export function parseText(text: string): Inbound {
  const match = /^\/([\p{L}\p{N}_]+)(?:@\w+)?(?:\s+([\s\S]*))?$/u.exec(text.trim());
  if (!match) return { type: "text", text };
  return { type: "command", command: (match[1] ?? "").toLowerCase(), args: (match[2] ?? "").trim() };
}

function mediaKind(context: Context): string {
  const message = context.message;
  if (!message) return "other";
  for (const kind of ["sticker", "photo", "voice", "video", "video_note", "audio", "document", "location", "contact", "animation"] as const) {
    if (kind in message) return kind;
  }
  return "other";
}
