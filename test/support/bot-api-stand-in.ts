/**
 * A local stand-in for the Telegram Bot API, for integration tests and
 * benchmarks. It speaks the real HTTP protocol (`${apiRoot}/bot${token}/${method}`,
 * JSON, multipart/form-data, x-www-form-urlencoded or a GET query string) on
 * 127.0.0.1, so grammY's own client talks to it unchanged:
 *
 * ```ts
 * const standIn = await startBotApiStandIn({ token });
 * const bot = new Bot(token, { client: { apiRoot: standIn.apiRoot } });
 * standIn.sendCommand(42, "start");
 * await standIn.waitFor(() => standIn.messages(42).length > 0, { what: "a reply" });
 * await standIn.close();
 * ```
 *
 * Responses follow the Bot API: `{ ok: true, result }` with HTTP 200, or
 * `{ ok: false, error_code, description, parameters? }` with HTTP status equal
 * to `error_code`. Error descriptions for HTML parsing follow TDLib's
 * `parse_html` (tdlib/td, td/telegram/MessageEntity.cpp at commit 1a901a0e).
 * The other descriptions are Telegram's as quoted by Bot API client libraries
 * and bug reports.
 *
 * NOTE: some descriptions follow Telegram's pattern but were not checked
 * against the live service: the "can't parse … JSON object" family for
 * malformed parameters, "action is empty", the poll question and option
 * errors, "secret token contains unallowed characters" and
 * "BOT_COMMAND_DESCRIPTION_INVALID". Descriptions that mention the stand-in
 * are its own.
 *
 * Deliberate differences from Telegram:
 * - Every chat is a private chat whose id is the user's id. A chat counts as
 *   started once the test injects a message from it or calls `openChat`.
 *   Sending to any other chat id fails with 403 "bot can't initiate
 *   conversation with a user", where Telegram would respond with 400 "chat not
 *   found" for ids it has never seen.
 * - Webhooks are delivered only to loopback addresses and over plain HTTP as
 *   well, one update at a time.
 * - Markdown and MarkdownV2 texts are stored as sent, without validation or
 *   entities. Plain texts get bot_command entities only for the message that
 *   a user sends, not for the bot's messages.
 * - Files sent by URL are not fetched, and photo sizes are placeholders.
 * - Methods the stand-in does not implement get 404 "Not Found: method not
 *   found", although Telegram has them.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import type {
  BotCommand,
  Chat,
  ChatMember,
  Document,
  ForceReply,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  PhotoSize,
  Poll,
  ReplyKeyboardMarkup,
  ReplyKeyboardRemove,
  Update,
  User,
  UserFromGetMe,
} from "grammy/types";

// ---------------------------------------------------------------------------
// Public types

/**
 * Flood limits, applied to the message-sending methods (sendMessage,
 * sendPhoto, sendDocument, sendPoll) as two token buckets: one per chat and
 * one for the whole bot. A send that finds either bucket empty fails with 429
 * and `parameters.retry_after`, the whole seconds until both buckets hold a
 * token again (at least 1). Edits, chat actions and answerCallbackQuery are
 * not limited. Set a rate to `Infinity` to turn that bucket off.
 */
export interface RateLimits {
  /** Sends per second that refill one chat's bucket. */
  perChatPerSecond: number;
  /** Capacity of one chat's bucket: sends a chat may get at once after a pause. */
  perChatBurst: number;
  /** Sends per second that refill the bot-wide bucket. */
  globalPerSecond: number;
  /** Capacity of the bot-wide bucket. */
  globalBurst: number;
}

/**
 * Limits close to the ones in Telegram's Bots FAQ ("My bot is hitting
 * limits"): about one message per second in a chat and 30 per second in
 * bulk. The FAQ allows short bursts in a chat but gives no size.
 * NOTE: the per-chat burst of 3 is an estimate.
 */
export const TELEGRAM_RATE_LIMITS: Readonly<RateLimits> = Object.freeze({
  perChatPerSecond: 1,
  perChatBurst: 3,
  globalPerSecond: 30,
  globalBurst: 30,
});

/** Options for {@link startBotApiStandIn}. */
export interface BotApiStandInOptions {
  /**
   * Bot token the stand-in accepts, and any other token gets 401. The digits
   * before ":" become the bot's user id. Default {@link DEFAULT_STAND_IN_TOKEN}.
   */
  token?: string;
  /** Username that getMe returns, without "@". Default "stand_in_bot". */
  botUsername?: string;
  /** First name that getMe returns. Default "Stand-in Bot". */
  botFirstName?: string;
  /**
   * Flood limits. Absent or `false`: no limits, for plain functional tests.
   * `{}`: {@link TELEGRAM_RATE_LIMITS}. Any field given overrides that default.
   */
  limits?: Partial<RateLimits> | false;
  /** Delay in milliseconds before the stand-in retries a webhook delivery that failed. Default 200. */
  webhookRetryMs?: number;
  /**
   * Milliseconds by which the stand-in delays each HTTP response after it
   * has handled the call, as a slow network would. The call takes effect on arrival: a
   * sent message is stored, counted in `stats()` and recorded with its status
   * at once. A client that goes away in the meantime has had its message
   * delivered without seeing the response. Default 0.
   */
  responseDelayMs?: number;
}

/**
 * A failure to inject with {@link BotApiStandIn.failNext}. `"network"` closes
 * the connection without a response. An object makes the response carry the
 * given HTTP status and a Bot API error body. `description` defaults to the status text
 * (500 "Internal Server Error"), `retryAfter` adds `parameters.retry_after` in
 * seconds, and `rawBody` replaces the JSON body with that text, the way a
 * proxy in front of Telegram responds with an HTML error page.
 */
export type Fault = "network" | { status: number; description?: string; retryAfter?: number; rawBody?: string };

/** One API call that reached the stand-in. */
export interface CallRecord {
  /** Method name as the Bot API spells it, or the path segment as requested when the method is unknown. */
  method: string;
  /** Parameters after decoding. JSON-serialized fields from form bodies are parsed. */
  params: Record<string, unknown>;
  /** Arrival time in milliseconds since the stand-in started. */
  at: number;
  /** HTTP status of the response, or `null` while pending and when no response was sent (network fault, client gone). */
  status: number | null;
  /** Chat the call concerns: `chat_id`, or the chat of the callback query for answerCallbackQuery. */
  chatId?: number;
  /** Error description, for failed calls. */
  description?: string;
  /** Set for a method call that a webhook response carried. */
  viaWebhookReply?: true;
}

/** Reply markup as the bot sent it. */
export type SentReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply;

/** Metadata of a file that the bot uploaded with multipart/form-data. */
export interface UploadInfo {
  filename: string;
  /** Size in bytes. */
  size: number;
  contentType: string;
}

/** Current state of a message that the bot sent, after any edits. */
export interface BotMessage {
  message_id: number;
  chat_id: number;
  kind: "text" | "photo" | "document" | "poll";
  /** Text as displayed to the user, after parse_mode parsing and trimming. */
  text?: string;
  /** Caption as displayed to the user, for photos and documents. */
  caption?: string;
  /** Entities of the text or caption. */
  entities?: MessageEntity[];
  parse_mode?: string;
  /** Text or caption as the bot sent it, before parsing. */
  source?: string;
  /** Reply markup as sent, including reply keyboards, which Telegram leaves out of Message objects. */
  reply_markup?: SentReplyMarkup;
  /** Unix time in seconds of the last edit. */
  edit_date?: number;
  upload?: UploadInfo;
  /** The full Message object, as the API last returned it. */
  message: Message;
}

/** Counters since the stand-in started. */
export interface StandInStats {
  /** API calls received, including failed ones. */
  calls: number;
  /** Messages the bot sent successfully. */
  sent: number;
  /** Responses with status 429, from flood limits and injected faults. */
  tooManyRequests: number;
}

/** Options for {@link BotApiStandIn.waitFor}. */
export interface WaitForOptions {
  /** Milliseconds to wait before rejecting. */
  timeoutMs?: number;
  /** What is awaited, for the rejection message. Defaults to the predicate's source. */
  what?: string;
}

/** An update to inject: any Bot API update, with `update_id` optional. */
export type UpdateInput = Omit<Update, "update_id"> & { update_id?: number };

/** Token the stand-in accepts when the options name none. */
export const DEFAULT_STAND_IN_TOKEN = "123456789:STAND-IN-TOKEN";

// ---------------------------------------------------------------------------
// Errors and limits

/** A Bot API error response. */
class ApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number },
  ) {
    super(description);
  }
}

function badRequest(detail: string): ApiError {
  return new ApiError(400, `Bad Request: ${detail}`);
}

const TEXT_MAX_LENGTH = 4096;
const CAPTION_MAX_LENGTH = 1024;
const CALLBACK_DATA_MAX_BYTES = 64;
const COMMANDS_MAX = 100;
const POLL_OPTIONS_MAX = 12;
/** Upload size limit of the cloud Bot API, 50 MB. */
const BODY_MAX_BYTES = 50 * 1024 * 1024;

const NOT_MODIFIED =
  "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";
const WEBHOOK_CONFLICT =
  "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
const POLL_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";
const QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid";

const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);

/** Methods that create messages and so count as sends for flood limits and stats. */
const SEND_METHODS = new Set(["sendMessage", "sendPhoto", "sendDocument", "sendPoll"]);

class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Returns the milliseconds until one token is available, or 0 when one is available now. */
  waitMs(now: number): number {
    if (this.perSecond === Infinity) return 0;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.perSecond) * 1000;
  }

  take(): void {
    if (this.perSecond !== Infinity) this.tokens -= 1;
  }
}

function resolveLimits(option: Partial<RateLimits> | false | undefined): RateLimits | undefined {
  if (option === undefined || option === false) return undefined;
  const limits = { ...TELEGRAM_RATE_LIMITS, ...option };
  for (const [name, value] of Object.entries(limits)) {
    if (!(value > 0)) throw new Error(`limits.${name} must be a positive number or Infinity, got ${value}`);
  }
  if (limits.perChatBurst < 1 || limits.globalBurst < 1) {
    throw new Error(`limits.perChatBurst and limits.globalBurst must be at least 1`);
  }
  return limits;
}

// ---------------------------------------------------------------------------
// HTML parse mode, after TDLib's parse_html

const HTML_TAGS = new Set([
  "a",
  "b",
  "strong",
  "i",
  "em",
  "s",
  "strike",
  "del",
  "u",
  "ins",
  "tg-spoiler",
  "tg-emoji",
  "span",
  "pre",
  "code",
  "blockquote",
]);

/** TDLib's is_space, which counts the terminating NUL as space. */
function isSpaceByte(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x00 || c === 0x0b || c === 0x0c;
}

function isAlphaByte(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isDigitByte(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (isDigitByte(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const NAMED_ENTITIES: Record<string, number> = { lt: 0x3c, gt: 0x3e, amp: 0x26, quot: 0x22 };

interface ParsedEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  customEmojiId?: string;
}

/** A byte cursor over UTF-8 text; reads past the end return 0, like TDLib's NUL-terminated strings. */
class ByteCursor {
  constructor(private readonly bytes: Buffer) {}

  get length(): number {
    return this.bytes.length;
  }

  at(index: number): number {
    return index < this.bytes.length ? (this.bytes[index] ?? 0) : 0;
  }

  text(start: number, end: number): string {
    return this.bytes.toString("utf8", start, end);
  }
}

/**
 * Decodes the character reference at `pos` (which holds "&"): &lt; &gt; &amp;
 * &quot; and numeric ones. Returns undefined for anything else, which the
 * parser then keeps as literal text.
 */
function decodeHtmlEntity(text: ByteCursor, pos: number): { code: number; next: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (text.at(pos + 1) === 0x23) {
    end++;
    if (text.at(pos + 2) === 0x78) {
      end++;
      while (hexValue(text.at(end)) >= 0) code = code * 16 + hexValue(text.at(end++));
    } else {
      while (isDigitByte(text.at(end))) code = code * 10 + text.at(end++) - 0x30;
    }
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return undefined;
  } else {
    while (isAlphaByte(text.at(end))) end++;
    code = NAMED_ENTITIES[text.text(pos + 1, end)] ?? 0;
    if (code === 0) return undefined;
  }
  return { code, next: text.at(end) === 0x3b ? end + 1 : end };
}

function asciiLower(value: string): string {
  return value.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Normalizes an `<a href>` target the way Telegram does, or returns undefined for a link Telegram drops. */
function checkedLink(url: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(url) ? url : `http://${url}`;
  try {
    const parsed = new URL(withScheme);
    return ["http:", "https:", "tg:", "ton:"].includes(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

interface OpenTag {
  tag: string;
  argument: string;
  offset: number;
  /** Start of the tag's content in the output bytes, for `<a>` without href. */
  outputStart: number;
}

/**
 * Parses Telegram's HTML parse mode and returns the visible text and its
 * entities (offsets in UTF-16 code units). Throws ApiError 400 with the
 * description Telegram uses, in which byte offsets count UTF-8 bytes of the
 * source text.
 */
function parseHtml(source: string): { text: string; entities: ParsedEntity[] } {
  const text = new ByteCursor(Buffer.from(source, "utf8"));
  const output: number[] = [];
  const entities: ParsedEntity[] = [];
  const open: OpenTag[] = [];
  const fail = (detail: string): ApiError => badRequest(`can't parse entities: ${detail}`);
  let utf16Offset = 0;
  let hasSurrogate = false;

  let i = 0;
  while (i < text.length) {
    const c = text.at(i);
    if (c === 0x26) {
      const decoded = decodeHtmlEntity(text, i);
      if (decoded !== undefined) {
        if (decoded.code >= 0xd800 && decoded.code <= 0xdfff) hasSurrogate = true;
        output.push(...Buffer.from(String.fromCodePoint(decoded.code), "utf8"));
        utf16Offset += decoded.code > 0xffff ? 2 : 1;
        i = decoded.next;
        continue;
      }
    }
    if (c !== 0x3c) {
      if ((c & 0xc0) !== 0x80) utf16Offset += c >= 0xf0 ? 2 : 1;
      output.push(c);
      i++;
      continue;
    }

    const begin = i++;
    if (text.at(i) !== 0x2f) {
      i = parseStartTag(text, begin, i, open, { utf16Offset, outputStart: output.length }, fail);
      continue;
    }

    // An end tag.
    const top = open.at(-1);
    if (top === undefined) throw fail(`Unexpected end tag at byte offset ${begin}`);
    while (!isSpaceByte(text.at(i)) && text.at(i) !== 0x3e) i++;
    const endTag = asciiLower(text.text(begin + 2, i));
    while (isSpaceByte(text.at(i)) && text.at(i) !== 0) i++;
    if (text.at(i) !== 0x3e) throw fail(`Unclosed end tag at byte offset ${begin}`);
    if (endTag !== "" && endTag !== top.tag) {
      throw fail(`Unmatched end tag at byte offset ${begin}, expected "</${top.tag}>", found "</${endTag}>"`);
    }
    if (utf16Offset > top.offset) {
      closeEntity(top, utf16Offset - top.offset, entities, Buffer.from(output.slice(top.outputStart)).toString("utf8"));
    }
    open.pop();
    i++;
  }

  const unclosed = open.at(-1);
  if (unclosed !== undefined) throw fail(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  if (hasSurrogate) {
    throw badRequest(
      "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units",
    );
  }
  for (const entity of entities) {
    if (entity.type === "code") delete entity.language;
  }
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: Buffer.from(output).toString("utf8"), entities };
}

/** Parses a start tag whose "<" is at `begin` and returns the index after its ">". */
function parseStartTag(
  text: ByteCursor,
  begin: number,
  start: number,
  open: OpenTag[],
  position: { utf16Offset: number; outputStart: number },
  fail: (detail: string) => ApiError,
): number {
  let i = start;
  while (!isSpaceByte(text.at(i)) && text.at(i) !== 0x3e) i++;
  if (text.at(i) === 0) throw fail(`Unclosed start tag at byte offset ${begin}`);
  const tag = asciiLower(text.text(begin + 1, i));
  if (!HTML_TAGS.has(tag)) throw fail(`Unsupported start tag "${tag}" at byte offset ${begin}`);

  let argument = "";
  while (text.at(i) !== 0x3e) {
    while (text.at(i) !== 0 && isSpaceByte(text.at(i))) i++;
    if (text.at(i) === 0x3e) break;
    const nameStart = i;
    while (![0x3d, 0x3e, 0x2f, 0x22, 0x27].includes(text.at(i)) && !isSpaceByte(text.at(i))) i++;
    const name = text.text(nameStart, i);
    if (name === "") throw fail(`Empty attribute name in the tag "${tag}" at byte offset ${begin}`);
    while (text.at(i) !== 0 && isSpaceByte(text.at(i))) i++;
    if (text.at(i) !== 0x3d) {
      // An attribute without a value.
      if (text.at(i) === 0) throw fail(`Unclosed start tag "${tag}" at byte offset ${begin}`);
      if (tag === "blockquote" && name === "expandable") argument = "1";
      continue;
    }
    i++;
    while (text.at(i) !== 0 && isSpaceByte(text.at(i))) i++;
    if (text.at(i) === 0) throw fail(`Unclosed start tag "${tag}" at byte offset ${begin}`);

    let value: string;
    const quote = text.at(i);
    if (quote !== 0x27 && quote !== 0x22) {
      // A name token: letters, digits, periods and hyphens, not case-sensitive.
      const tokenStart = i;
      while (isAlphaByte(text.at(i)) || isDigitByte(text.at(i)) || text.at(i) === 0x2e || text.at(i) === 0x2d) i++;
      value = asciiLower(text.text(tokenStart, i));
      if (!isSpaceByte(text.at(i)) && text.at(i) !== 0x3e) {
        throw fail(`Unexpected end of name token at byte offset ${tokenStart}`);
      }
    } else {
      i++;
      const valueBytes: number[] = [];
      while (text.at(i) !== quote && text.at(i) !== 0) {
        const decoded = text.at(i) === 0x26 ? decodeHtmlEntity(text, i) : undefined;
        if (decoded !== undefined) {
          valueBytes.push(...Buffer.from(String.fromCodePoint(decoded.code), "utf8"));
          i = decoded.next;
        } else {
          valueBytes.push(text.at(i++));
        }
      }
      if (text.at(i) === quote) i++;
      value = Buffer.from(valueBytes).toString("utf8");
    }
    if (text.at(i) === 0) throw fail(`Unclosed start tag at byte offset ${begin}`);

    if (tag === "a" && name === "href") argument = value;
    else if (tag === "code" && name === "class" && value.startsWith("language-")) argument = value.slice(9);
    else if (tag === "span" && name === "class" && value.startsWith("tg-")) argument = value.slice(3);
    else if (tag === "tg-emoji" && name === "emoji-id") argument = value;
    else if (tag === "blockquote" && name === "expandable") argument = "1";
  }
  if (tag === "span" && argument !== "spoiler") {
    throw fail(`Tag "span" must have class "tg-spoiler" at byte offset ${begin}`);
  }
  open.push({ tag, argument, offset: position.utf16Offset, outputStart: position.outputStart });
  return i + 1;
}

function closeEntity(top: OpenTag, length: number, entities: ParsedEntity[], innerText: string): void {
  const offset = top.offset;
  const simple: Record<string, string> = {
    i: "italic",
    em: "italic",
    b: "bold",
    strong: "bold",
    s: "strikethrough",
    strike: "strikethrough",
    del: "strikethrough",
    u: "underline",
    ins: "underline",
    "tg-spoiler": "spoiler",
    span: "spoiler",
  };
  const simpleType = simple[top.tag];
  const last = entities.at(-1);
  const sameSpan = last !== undefined && last.offset === offset && last.length === length;
  if (simpleType !== undefined) {
    entities.push({ type: simpleType, offset, length });
  } else if (top.tag === "tg-emoji") {
    if (!/^-?\d+$/.test(top.argument) || BigInt(top.argument) === 0n) {
      throw badRequest("Invalid custom emoji identifier specified");
    }
    entities.push({ type: "custom_emoji", offset, length, customEmojiId: top.argument });
  } else if (top.tag === "a") {
    const url = checkedLink(top.argument === "" ? innerText : top.argument);
    if (url !== undefined) entities.push({ type: "text_link", offset, length, url });
  } else if (top.tag === "pre") {
    if (sameSpan && last.type === "code" && last.language !== undefined && last.language !== "") {
      last.type = "pre";
    } else {
      entities.push({ type: "pre", offset, length });
    }
  } else if (top.tag === "code") {
    if (sameSpan && last.type === "pre" && top.argument !== "") {
      last.language = top.argument;
    } else {
      entities.push({ type: "code", offset, length, language: top.argument });
    }
  } else {
    entities.push({ type: top.argument === "" ? "blockquote" : "expandable_blockquote", offset, length });
  }
}

function toMessageEntity(entity: ParsedEntity): MessageEntity {
  const { type, offset, length } = entity;
  if (type === "text_link") return { type, offset, length, url: entity.url ?? "" };
  if (type === "custom_emoji") return { type, offset, length, custom_emoji_id: entity.customEmojiId ?? "" };
  if (type === "pre") return entity.language ? { type, offset, length, language: entity.language } : { type, offset, length };
  return { type: type as MessageEntity.CommonMessageEntity["type"], offset, length };
}

// ---------------------------------------------------------------------------
// Request decoding

interface UploadedFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

interface DecodedRequest {
  params: Record<string, unknown>;
  files: Map<string, UploadedFile>;
}

/** Reads a content-disposition parameter, quoted or bare (grammY sends `filename=name.jpg` without quotes). */
function dispositionParam(header: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|;)\\s*${name}=(?:"([^"]*)"|([^;\\r\\n]*))`, "i").exec(header);
  if (match === null) return undefined;
  return (match[1] ?? match[2] ?? "").trim();
}

function parseMultipart(body: Buffer, boundary: string): DecodedRequest {
  const params: Record<string, unknown> = {};
  const files = new Map<string, UploadedFile>();
  const delimiter = Buffer.from(`--${boundary}`);
  let position = body.indexOf(delimiter);
  while (position >= 0) {
    position += delimiter.length;
    if (body.toString("latin1", position, position + 2) === "--") break;
    const headerStart = body.indexOf("\r\n", position) + 2;
    const headerEnd = body.indexOf("\r\n\r\n", headerStart);
    if (headerStart < 2 || headerEnd < 0) break;
    const headers = new Map<string, string>();
    for (const line of body.toString("utf8", headerStart, headerEnd).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const contentStart = headerEnd + 4;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), contentStart);
    const contentEnd = next < 0 ? body.length : next;
    const disposition = headers.get("content-disposition") ?? "";
    const name = dispositionParam(disposition, "name");
    const filename = dispositionParam(disposition, "filename");
    if (name !== undefined) {
      const content = body.subarray(contentStart, contentEnd);
      if (filename !== undefined) {
        files.set(name, {
          filename,
          contentType: headers.get("content-type") ?? "application/octet-stream",
          data: Buffer.from(content),
        });
      } else {
        params[name] = content.toString("utf8");
      }
    }
    position = next < 0 ? -1 : next + 2;
  }
  return { params, files };
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > BODY_MAX_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function decodeRequest(url: URL, contentType: string, body: Buffer): DecodedRequest {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (body.length === 0) return { params, files: new Map() };
  if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw badRequest("can't parse JSON object");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw badRequest("can't parse JSON object");
    return { params: { ...params, ...(parsed as Record<string, unknown>) }, files: new Map() };
  }
  if (type === "application/x-www-form-urlencoded") {
    return { params: { ...params, ...Object.fromEntries(new URLSearchParams(body.toString("utf8"))) }, files: new Map() };
  }
  if (type === "multipart/form-data") {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
    const value = boundary?.[1] ?? boundary?.[2];
    if (value === undefined) throw badRequest("can't parse multipart/form-data request: boundary is missing");
    const decoded = parseMultipart(body, value.trim());
    return { params: { ...params, ...decoded.params }, files: decoded.files };
  }
  return { params, files: new Map() };
}

// ---------------------------------------------------------------------------
// Parameter readers. Form bodies deliver every value as a string, so each
// reader also accepts the string form.

function readString(params: Record<string, unknown>, key: string): string | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function readInteger(params: Record<string, unknown>, key: string): number | undefined {
  const value = params[key];
  if (value === undefined || value === null || value === "") return undefined;
  const number = typeof value === "number" ? value : Number(value);
  return Number.isFinite(number) ? Math.trunc(number) : undefined;
}

function readBoolean(params: Record<string, unknown>, key: string): boolean {
  const value = params[key];
  return value === true || value === "true" || value === "1" || value === 1;
}

/** Reads a JSON-serialized parameter, given as an object or as JSON text. Throws `error` when the text is not valid JSON. */
function readJson(params: Record<string, unknown>, key: string, error: string): unknown {
  const value = params[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw badRequest(error);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Serializes with sorted keys, so that equal objects compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Validates reply_markup and returns it. Inline keyboards get Telegram's checks on buttons and callback_data. */
function readReplyMarkup(params: Record<string, unknown>): SentReplyMarkup | undefined {
  const markup = readJson(params, "reply_markup", "can't parse reply keyboard markup JSON object");
  if (markup === undefined) return undefined;
  if (!isRecord(markup)) throw badRequest("can't parse reply keyboard markup JSON object");
  if (!("inline_keyboard" in markup)) return markup as unknown as SentReplyMarkup;
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows) || !rows.every((row) => Array.isArray(row))) {
    throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
  }
  for (const row of rows as unknown[][]) {
    for (const button of row) {
      if (!isRecord(button) || typeof button.text !== "string") {
        throw badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object");
      }
      const actions = Object.keys(button).filter((key) => key !== "text" && button[key] !== undefined);
      if (actions.length === 0) {
        throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
      }
      if ("callback_data" in button) {
        const data = button.callback_data;
        const bytes = typeof data === "string" ? Buffer.byteLength(data, "utf8") : 0;
        if (bytes < 1 || bytes > CALLBACK_DATA_MAX_BYTES) throw badRequest("BUTTON_DATA_INVALID");
      }
    }
  }
  return markup as unknown as InlineKeyboardMarkup;
}

function inlineKeyboardOf(markup: SentReplyMarkup | undefined): InlineKeyboardMarkup | undefined {
  return markup !== undefined && "inline_keyboard" in markup ? markup : undefined;
}

/** Counts Unicode code points, the unit of Telegram's "characters". */
function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Removes leading and trailing spaces and newlines, as Telegram does, and moves the entities along. */
function trimFormatted(text: string, entities: ParsedEntity[]): { text: string; entities: ParsedEntity[] } {
  const lead = /^[ \n]*/.exec(text)?.[0].length ?? 0;
  const trimmed = text.slice(lead).replace(/[ \n]+$/, "");
  const kept: ParsedEntity[] = [];
  for (const entity of entities) {
    const start = Math.max(0, entity.offset - lead);
    const end = Math.min(trimmed.length, entity.offset + entity.length - lead);
    if (end > start) kept.push({ ...entity, offset: start, length: end - start });
  }
  return { text: trimmed, entities: kept };
}

interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

/**
 * Applies parse_mode (or explicit entities) to a text or caption and checks
 * its length. Returns undefined for an absent or empty caption.
 */
function formatText(params: Record<string, unknown>, field: "text" | "caption"): FormattedText | undefined {
  const source = readString(params, field);
  const isText = field === "text";
  if (source === undefined || source === "") {
    if (isText) throw badRequest("message text is empty");
    return undefined;
  }
  const entitiesField = isText ? "entities" : "caption_entities";
  const explicit = readJson(params, entitiesField, `can't parse entities JSON object`);
  const parseMode = readString(params, "parse_mode")?.toLowerCase() ?? "";
  let parsed: { text: string; entities: ParsedEntity[] };
  if (Array.isArray(explicit)) {
    parsed = { text: source, entities: explicit as ParsedEntity[] };
  } else if (parseMode === "html") {
    parsed = parseHtml(source);
  } else if (parseMode === "" || parseMode === "markdown" || parseMode === "markdownv2") {
    parsed = { text: source, entities: [] };
  } else {
    throw badRequest(`unsupported parse_mode`);
  }
  const trimmed = trimFormatted(parsed.text, parsed.entities);
  if (trimmed.text === "") {
    if (isText) throw badRequest("message text is empty");
    return undefined;
  }
  if (isText && characterCount(trimmed.text) > TEXT_MAX_LENGTH) throw badRequest("message is too long");
  if (!isText && characterCount(trimmed.text) > CAPTION_MAX_LENGTH) throw badRequest("message caption is too long");
  const entities = Array.isArray(explicit) ? (trimmed.entities as MessageEntity[]) : trimmed.entities.map(toMessageEntity);
  return { text: trimmed.text, entities };
}

/** Finds bot commands at word starts, as Telegram marks them in user messages. */
function findBotCommands(text: string): MessageEntity[] {
  const entities: MessageEntity[] = [];
  for (const match of text.matchAll(/(^|\s)(\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)(?=$|\s|[^\w@])/g)) {
    const offset = (match.index ?? 0) + (match[1]?.length ?? 0);
    entities.push({ type: "bot_command", offset, length: match[2]?.length ?? 0 });
  }
  return entities;
}

function mimeTypeOf(filename: string): string | undefined {
  const types: Record<string, string> = {
    pdf: "application/pdf",
    txt: "text/plain",
    csv: "text/csv",
    json: "application/json",
    html: "text/html",
    zip: "application/zip",
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    ogg: "audio/ogg",
    mp3: "audio/mpeg",
    mp4: "video/mp4",
  };
  return types[filename.split(".").pop()?.toLowerCase() ?? ""];
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

// ---------------------------------------------------------------------------
// State

interface ChatState {
  id: number;
  user: User;
  started: boolean;
  blocked: boolean;
  deactivated: boolean;
  lastMessageId: number;
  /** Messages from both sides by message_id, without deleted ones. */
  messages: Map<number, StoredMessage>;
  bucket?: TokenBucket;
}

interface StoredMessage {
  message: Message;
  fromBot: boolean;
  kind?: BotMessage["kind"];
  source?: string;
  parseMode?: string;
  replyMarkup?: SentReplyMarkup;
  upload?: UploadInfo;
}

interface Webhook {
  url: string;
  secretToken?: string;
  maxConnections: number;
  allowedUpdates?: unknown;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

type Outcome =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number } };

interface LongPoll {
  offset: number;
  limit: number;
  finish: (outcome: Outcome) => void;
  timer: NodeJS.Timeout;
}

interface Waiter {
  check: () => void;
}

interface StoredFile {
  kind: "photo" | "document";
  fileUniqueId: string;
  filename?: string;
  size: number;
  mimeType?: string;
}

interface MethodContext {
  params: Record<string, unknown>;
  files: Map<string, UploadedFile>;
}

type MethodHandler = (context: MethodContext) => unknown;

/** Result `true` with the description that setWebhook and deleteWebhook add to their response. */
class WebhookResult {
  constructor(readonly description: string) {}
}

/**
 * A running stand-in, created by {@link startBotApiStandIn}. Methods named
 * after user actions (sendText, pressButton, ...) inject updates as if a user
 * did that in the Telegram app. The bot receives them through getUpdates or
 * the webhook.
 */
export class BotApiStandIn {
  /** Base URL for grammY's `client.apiRoot`, such as "http://127.0.0.1:40123", without a trailing slash. */
  readonly apiRoot: string;
  /** Token the stand-in accepts. */
  readonly token: string;
  /** The bot's user, as getMe returns it. */
  readonly botInfo: UserFromGetMe;

  private readonly server: Server;
  private readonly startedAt = performance.now();
  private readonly limits: RateLimits | undefined;
  private readonly globalBucket: TokenBucket | undefined;
  private readonly webhookRetryMs: number;
  private readonly responseDelayMs: number;
  private readonly methods: Map<string, { name: string; run: MethodHandler }>;

  private readonly chats = new Map<number, ChatState>();
  private readonly callRecords: CallRecord[] = [];
  private readonly pending: Update[] = [];
  private readonly faults = new Map<string, { remaining: number; fault: Fault }[]>();
  private readonly commands = new Map<string, BotCommand[]>();
  private readonly callbackQueries = new Map<string, { chatId: number; answered: boolean }>();
  private readonly files = new Map<string, StoredFile>();
  private readonly waiters = new Set<Waiter>();

  private nextUpdateId = 1;
  private nextCallbackQueryId = 1;
  private nextFileNumber = 1;
  private sentCount = 0;
  private tooManyRequestsCount = 0;
  private longPoll: LongPoll | undefined;
  private webhook: Webhook | undefined;
  private webhookDelivering = false;
  private webhookRetryTimer: NodeJS.Timeout | undefined;
  private readonly webhookAbort = new AbortController();
  private closed = false;

  /** Use {@link startBotApiStandIn}, which also starts listening. */
  private constructor(server: Server, apiRoot: string, options: BotApiStandInOptions) {
    this.server = server;
    this.apiRoot = apiRoot;
    this.token = options.token ?? DEFAULT_STAND_IN_TOKEN;
    this.limits = resolveLimits(options.limits);
    this.globalBucket = this.limits && new TokenBucket(this.limits.globalBurst, this.limits.globalPerSecond, this.now());
    this.webhookRetryMs = options.webhookRetryMs ?? 200;
    this.responseDelayMs = options.responseDelayMs ?? 0;
    const botId = Number(/^(\d+):/.exec(this.token)?.[1] ?? 123456789);
    this.botInfo = {
      id: botId,
      is_bot: true,
      first_name: options.botFirstName ?? "Stand-in Bot",
      username: options.botUsername ?? "stand_in_bot",
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false,
    };
    this.methods = this.methodTable();
  }

  /** @internal Starts the HTTP server. Use {@link startBotApiStandIn} instead. */
  static async start(options: BotApiStandInOptions): Promise<BotApiStandIn> {
    resolveLimits(options.limits); // throws on invalid limits before anything listens
    const delay = options.responseDelayMs ?? 0;
    if (!(delay >= 0 && Number.isFinite(delay))) {
      throw new Error(`responseDelayMs must be a finite number of 0 or more, got ${delay}`);
    }
    let standIn: BotApiStandIn | undefined;
    const server = createServer((req, res) => {
      if (standIn === undefined) {
        res.destroy();
        return;
      }
      standIn.handleHttp(req, res).catch((error: unknown) => {
        const path = (req.url ?? "?").replace(/^\/bot[^/]*/, "/bot<token>");
        console.error(`Bot API stand-in: ${req.method ?? "?"} ${path} failed inside the stand-in:`, error);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end(JSON.stringify({ ok: false, error_code: 500, description: `Internal Server Error: ${String(error)}` }));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    standIn = new BotApiStandIn(server, `http://127.0.0.1:${port}`, options);
    return standIn;
  }

  // -------------------------------------------------------------------------
  // User actions

  /**
   * Marks a chat as started without injecting an update, as if the user had
   * pressed Start earlier. `from` sets fields of the user's profile, such as
   * `language_code` or `first_name`.
   */
  openChat(chatId: number, from?: Partial<User>): void {
    this.chatFor(chatId, from).started = true;
  }

  /**
   * Injects a text message from the user and returns its update. Marks the
   * chat as started. Commands at word starts get bot_command entities, as
   * Telegram adds them. Throws when the user blocked the bot or is deactivated.
   */
  sendText(chatId: number, text: string, from?: Partial<User>): Update {
    return this.injectUserMessage(chatId, from, { text, entities: findBotCommands(text) });
  }

  /** Injects a command such as "/start" (the slash is optional) with optional arguments after a space. */
  sendCommand(chatId: number, command: string, args?: string, from?: Partial<User>): Update {
    const name = command.startsWith("/") ? command : `/${command}`;
    const text = args === undefined || args === "" ? name : `${name} ${args}`;
    const entity: MessageEntity = { type: "bot_command", offset: 0, length: name.length };
    return this.injectUserMessage(chatId, from, { text, entities: [entity] });
  }

  /** Injects a sticker message from the user. */
  sendSticker(chatId: number, from?: Partial<User>): Update {
    const ids = this.newFileIds("sticker");
    return this.injectUserMessage(chatId, from, {
      sticker: { ...ids, type: "regular", width: 512, height: 512, is_animated: false, is_video: false, emoji: "👍" },
    });
  }

  /** Injects a photo message from the user, with an optional caption. */
  sendPhoto(chatId: number, caption?: string, from?: Partial<User>): Update {
    const photo = this.photoSizes(this.newFileIds("photo"), 48_000);
    return this.injectUserMessage(chatId, from, caption === undefined ? { photo } : { photo, caption });
  }

  /** Injects a voice message from the user. */
  sendVoice(chatId: number, from?: Partial<User>): Update {
    const ids = this.newFileIds("voice");
    return this.injectUserMessage(chatId, from, { voice: { ...ids, duration: 3, mime_type: "audio/ogg", file_size: 9_000 } });
  }

  /**
   * Injects a callback query, as if the user pressed the inline button with
   * `data` under the bot's message `messageId`. Throws when the message does
   * not exist in that chat or has no such button.
   */
  pressButton(chatId: number, messageId: number, data: string, from?: Partial<User>): Update {
    const chat = this.chatFor(chatId, from);
    this.assertUserCanAct(chat);
    const stored = chat.messages.get(messageId);
    if (stored === undefined || !stored.fromBot) {
      throw new Error(`pressButton: chat ${chatId} has no bot message ${messageId}`);
    }
    const buttons = inlineKeyboardOf(stored.replyMarkup)?.inline_keyboard.flat() ?? [];
    const available = buttons.flatMap((button) => ("callback_data" in button ? [button.callback_data] : []));
    if (!available.includes(data)) {
      throw new Error(
        `pressButton: message ${messageId} in chat ${chatId} has no button with callback_data ${JSON.stringify(data)}; ` +
          `it has ${JSON.stringify(available)}`,
      );
    }
    const id = `${this.botInfo.id}${String(this.nextCallbackQueryId++).padStart(6, "0")}`;
    this.callbackQueries.set(id, { chatId, answered: false });
    return this.enqueue({
      callback_query: {
        id,
        from: chat.user,
        message: structuredClone(stored.message),
        chat_instance: `instance-${chatId}`,
        data,
      },
    });
  }

  /**
   * Injects a raw update and returns it. Without `update_id` the next free id
   * is used. Giving the same `update_id` twice delivers a duplicate. An update
   * whose id is below the offset that the bot already confirmed is dropped at
   * the bot's next getUpdates, because Telegram never sends such an update.
   * A private-chat message in the update marks its chat as started.
   */
  injectUpdate(update: UpdateInput): Update {
    const message = update.message;
    if (message !== undefined && message.chat.type === "private") {
      const chat = this.chatFor(message.chat.id, message.from);
      chat.started = true;
      chat.lastMessageId = Math.max(chat.lastMessageId, message.message_id);
      if (!chat.messages.has(message.message_id)) chat.messages.set(message.message_id, { message, fromBot: false });
    }
    return this.enqueue(update);
  }

  /** Makes the user block the bot: sends then fail with 403, and a my_chat_member update goes to the bot. */
  block(chatId: number): void {
    const chat = this.chatFor(chatId);
    if (chat.blocked) return;
    chat.blocked = true;
    this.enqueue({ my_chat_member: this.memberUpdate(chat, "member", "kicked") });
  }

  /** Makes the user unblock the bot, with a my_chat_member update. */
  unblock(chatId: number): void {
    const chat = this.chatFor(chatId);
    if (!chat.blocked) return;
    chat.blocked = false;
    this.enqueue({ my_chat_member: this.memberUpdate(chat, "kicked", "member") });
  }

  /** Deletes the user's account: sends then fail with 403 "user is deactivated". */
  deactivate(chatId: number): void {
    this.chatFor(chatId).deactivated = true;
    this.changed();
  }

  // -------------------------------------------------------------------------
  // Inspection and control

  /** Returns the bot's messages in a chat, oldest first, in their current state and without deleted ones. */
  messages(chatId: number): BotMessage[] {
    const chat = this.chats.get(chatId);
    if (chat === undefined) return [];
    return [...chat.messages.values()].filter((stored) => stored.fromBot).map((stored) => this.toBotMessage(chatId, stored));
  }

  /** Returns every API call so far in order of arrival, or only those concerning `chatId`. */
  calls(chatId?: number): CallRecord[] {
    return chatId === undefined ? [...this.callRecords] : this.callRecords.filter((call) => call.chatId === chatId);
  }

  /** Returns the updates not yet confirmed by getUpdates or delivered to the webhook. */
  pendingUpdates(): Update[] {
    return structuredClone(this.pending);
  }

  /**
   * Resolves with the predicate's value once it is truthy. The predicate is
   * checked now, after every change in the stand-in, and every 25 ms. Rejects
   * after `timeoutMs` (default 5000) with a message naming what was awaited
   * and the last calls, or when the stand-in closes.
   */
  waitFor<T>(predicate: () => T | undefined | null | false, options: WaitForOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const what = options.what ?? predicate.toString();
    return new Promise<T>((resolve, reject) => {
      let interval: NodeJS.Timeout | undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        this.waiters.delete(waiter);
        clearInterval(interval);
        clearTimeout(timer);
      };
      const waiter: Waiter = {
        check: () => {
          if (this.closed) {
            finish();
            reject(new Error(`Bot API stand-in closed while waiting for ${what}`));
            return;
          }
          try {
            const value = predicate();
            if (value) {
              finish();
              resolve(value);
            }
          } catch (error) {
            finish();
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
      };
      this.waiters.add(waiter);
      interval = setInterval(waiter.check, 25);
      timer = setTimeout(() => {
        finish();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last calls: ${this.describeLastCalls(8)}`));
      }, timeoutMs);
      waiter.check();
    });
  }

  /**
   * Makes the next `count` calls of `method` (case-insensitive) fail with
   * `fault`. Faults queued for the same method apply in the order given.
   */
  failNext(method: string, count: number, fault: Fault): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`failNext: count must be a positive integer, got ${count}`);
    const key = method.toLowerCase();
    const queue = this.faults.get(key) ?? [];
    queue.push({ remaining: count, fault });
    this.faults.set(key, queue);
  }

  /** Returns counters since the start. */
  stats(): StandInStats {
    return { calls: this.callRecords.length, sent: this.sentCount, tooManyRequests: this.tooManyRequestsCount };
  }

  /** Stops the server, drops open connections, ends webhook delivery and rejects pending waitFor calls. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.webhookAbort.abort();
    clearTimeout(this.webhookRetryTimer);
    if (this.longPoll !== undefined) clearTimeout(this.longPoll.timer);
    this.longPoll = undefined;
    for (const waiter of [...this.waiters]) waiter.check();
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closing;
  }

  // -------------------------------------------------------------------------
  // HTTP

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.apiRoot);
    const match = /^\/bot([^/]*)\/([^/]+)$/.exec(url.pathname);
    const body = await readBody(req);
    if (match === null) {
      this.send(res, { ok: false, error_code: 404, description: "Not Found" });
      return;
    }
    const [, token = "", requested = ""] = match;
    const handler = this.methods.get(requested.toLowerCase());
    const record: CallRecord = { method: handler?.name ?? requested, params: {}, at: this.now(), status: null };
    this.callRecords.push(record);

    // Telegram checks the token first, then the method, then the parameters.
    let outcome: (Outcome & { rawBody?: string }) | undefined;
    let decoded: DecodedRequest = { params: {}, files: new Map() };
    try {
      if (body !== undefined) decoded = decodeRequest(url, req.headers["content-type"] ?? "", body);
    } catch (error) {
      outcome = this.toOutcome(error);
    }
    record.params = decoded.params;
    const chatId = this.chatIdOf(record.method, decoded.params);
    if (chatId !== undefined) record.chatId = chatId;

    if (decodeURIComponent(token) !== this.token) {
      outcome = { ok: false, error_code: 401, description: "Unauthorized" };
    } else if (handler === undefined) {
      outcome = { ok: false, error_code: 404, description: "Not Found: method not found" };
    } else if (body === undefined) {
      outcome = { ok: false, error_code: 413, description: "Request Entity Too Large" };
    } else if (outcome === undefined) {
      const fault = this.takeFault(record.method);
      if (fault === "network") {
        this.changed();
        res.socket?.destroy();
        return;
      }
      outcome = fault;
    }
    this.changed();

    if (outcome === undefined && record.method === "getUpdates") {
      outcome = await this.getUpdates(decoded.params, res);
      if (outcome === undefined) return;
    }
    outcome ??= await this.execute(record.method, decoded);
    this.finishCall(record, outcome);
    if (this.responseDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.responseDelayMs));
    this.send(res, outcome);
  }

  private send(res: ServerResponse, outcome: Outcome & { rawBody?: string }): void {
    if (res.destroyed) return;
    const status = outcome.ok ? 200 : outcome.error_code;
    const body = outcome.rawBody ?? JSON.stringify(outcome);
    res.writeHead(status, {
      "content-type": outcome.rawBody === undefined ? "application/json" : "text/html",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  private finishCall(record: CallRecord, outcome: Outcome): void {
    record.status = outcome.ok ? 200 : outcome.error_code;
    if (!outcome.ok) {
      record.description = outcome.description;
      if (outcome.error_code === 429) this.tooManyRequestsCount++;
    } else if (SEND_METHODS.has(record.method)) {
      this.sentCount++;
    }
    this.changed();
  }

  private takeFault(method: string): (Outcome & { rawBody?: string }) | "network" | undefined {
    const queue = this.faults.get(method.toLowerCase());
    const next = queue?.[0];
    if (queue === undefined || next === undefined) return undefined;
    next.remaining--;
    if (next.remaining === 0) queue.shift();
    const fault = next.fault;
    if (fault === "network") return fault;
    const description =
      fault.description ??
      (fault.status === 429 && fault.retryAfter !== undefined
        ? `Too Many Requests: retry after ${fault.retryAfter}`
        : (STATUS_CODES[fault.status] ?? "Error"));
    const outcome: Outcome & { rawBody?: string } = { ok: false, error_code: fault.status, description };
    if (fault.retryAfter !== undefined) outcome.parameters = { retry_after: fault.retryAfter };
    if (fault.rawBody !== undefined) outcome.rawBody = fault.rawBody;
    return outcome;
  }

  private async execute(method: string, request: DecodedRequest): Promise<Outcome> {
    const handler = this.methods.get(method.toLowerCase());
    if (handler === undefined) return { ok: false, error_code: 404, description: "Not Found: method not found" };
    try {
      const result = await handler.run({ params: request.params, files: request.files });
      if (result instanceof WebhookResult) return { ok: true, result: true, description: result.description };
      return { ok: true, result };
    } catch (error) {
      return this.toOutcome(error);
    }
  }

  private toOutcome(error: unknown): Outcome {
    if (!(error instanceof ApiError)) throw error;
    const outcome: Outcome = { ok: false, error_code: error.errorCode, description: error.description };
    if (error.parameters !== undefined) outcome.parameters = error.parameters;
    return outcome;
  }

  private chatIdOf(method: string, params: Record<string, unknown>): number | undefined {
    if (method === "answerCallbackQuery") {
      return this.callbackQueries.get(readString(params, "callback_query_id") ?? "")?.chatId;
    }
    return readInteger(params, "chat_id");
  }

  private now(): number {
    return performance.now() - this.startedAt;
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  private describeLastCalls(count: number): string {
    const last = this.callRecords.slice(-count);
    if (last.length === 0) return "none";
    return last
      .map((call) => `${call.method}${call.chatId === undefined ? "" : `(chat ${call.chatId})`} → ${call.status ?? "no answer"}`)
      .join(", ");
  }

  // -------------------------------------------------------------------------
  // Updates: long polling and webhook

  private enqueue(input: UpdateInput): Update {
    const updateId = input.update_id ?? this.nextUpdateId;
    this.nextUpdateId = Math.max(this.nextUpdateId, updateId + 1);
    const update = { ...input, update_id: updateId } as Update;
    this.pending.push(update);
    this.changed();
    const poll = this.longPoll;
    if (poll !== undefined) {
      const batch = this.batchFrom(poll.offset, poll.limit);
      if (batch.length > 0) poll.finish({ ok: true, result: batch });
    }
    this.deliverWebhook();
    return structuredClone(update);
  }

  /** Confirms updates: drops those below `offset`, or keeps only the last -offset updates for a negative offset. */
  private confirm(offset: number): void {
    if (offset < 0) {
      this.pending.splice(0, Math.max(0, this.pending.length + offset));
    } else if (offset > 0) {
      for (let i = this.pending.length - 1; i >= 0; i--) {
        if ((this.pending[i]?.update_id ?? 0) < offset) this.pending.splice(i, 1);
      }
    }
  }

  private batchFrom(offset: number, limit: number): Update[] {
    const batch = this.pending.filter((update) => offset <= 0 || update.update_id >= offset).slice(0, limit);
    return structuredClone(batch);
  }

  /**
   * Handles getUpdates, holding the request for up to `timeout` seconds while
   * no update is pending. Returns undefined when the client went away first.
   */
  private getUpdates(params: Record<string, unknown>, res: ServerResponse): Promise<Outcome | undefined> {
    if (this.webhook !== undefined) {
      return Promise.resolve({ ok: false, error_code: 409, description: WEBHOOK_CONFLICT });
    }
    const offset = readInteger(params, "offset") ?? 0;
    const limit = Math.min(100, Math.max(1, readInteger(params, "limit") ?? 100));
    const timeoutSeconds = Math.max(0, readInteger(params, "timeout") ?? 0);
    this.longPoll?.finish({ ok: false, error_code: 409, description: POLL_CONFLICT });
    this.confirm(offset);
    const batch = this.batchFrom(offset, limit);
    if (batch.length > 0 || timeoutSeconds === 0) return Promise.resolve({ ok: true, result: batch });

    return new Promise((resolve) => {
      const poll: LongPoll = {
        offset,
        limit,
        finish: (outcome) => {
          clearTimeout(poll.timer);
          res.off("close", onClose);
          if (this.longPoll === poll) this.longPoll = undefined;
          resolve(outcome);
        },
        timer: setTimeout(() => poll.finish({ ok: true, result: [] }), timeoutSeconds * 1000),
      };
      const onClose = (): void => {
        if (res.writableEnded) return;
        clearTimeout(poll.timer);
        if (this.longPoll === poll) this.longPoll = undefined;
        resolve(undefined);
      };
      res.on("close", onClose);
      this.longPoll = poll;
    });
  }

  /** Delivers pending updates to the webhook one at a time, retrying a failed delivery after `webhookRetryMs`. */
  private deliverWebhook(): void {
    if (this.webhookDelivering || this.closed) return;
    const webhook = this.webhook;
    const update = this.pending[0];
    if (webhook === undefined || update === undefined) return;
    this.webhookDelivering = true;
    void this.postUpdate(webhook, update).then((delivered) => {
      this.webhookDelivering = false;
      if (delivered) {
        const index = this.pending.indexOf(update);
        if (index >= 0) this.pending.splice(index, 1);
        this.changed();
        this.deliverWebhook();
      } else if (!this.closed) {
        this.webhookRetryTimer = setTimeout(() => this.deliverWebhook(), this.webhookRetryMs);
      }
    });
  }

  private async postUpdate(webhook: Webhook, update: Update): Promise<boolean> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (webhook.secretToken !== undefined) headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secretToken;
    let replyBody: string;
    try {
      const response = await fetch(webhook.url, {
        method: "POST",
        headers,
        body: JSON.stringify(update),
        signal: this.webhookAbort.signal,
      });
      replyBody = await response.text();
      if (!response.ok) {
        webhook.lastErrorDate = Math.floor(Date.now() / 1000);
        webhook.lastErrorMessage = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
        return false;
      }
    } catch (error) {
      if (this.closed) return false;
      const code = (error as { cause?: { code?: string } }).cause?.code;
      webhook.lastErrorDate = Math.floor(Date.now() / 1000);
      webhook.lastErrorMessage = code === "ECONNREFUSED" ? "Connection refused" : `Connection failed: ${String(error)}`;
      return false;
    }
    await this.runWebhookReply(replyBody);
    return true;
  }

  /** Runs a method call carried in a webhook response body, as Telegram does. Its outcome goes only to the call record. */
  private async runWebhookReply(body: string): Promise<void> {
    let reply: unknown;
    try {
      reply = JSON.parse(body);
    } catch {
      return;
    }
    if (!isRecord(reply) || typeof reply.method !== "string") return;
    const { method, ...params } = reply;
    const handler = this.methods.get(method.toLowerCase());
    const record: CallRecord = { method: handler?.name ?? method, params, at: this.now(), status: null, viaWebhookReply: true };
    const chatId = this.chatIdOf(record.method, params);
    if (chatId !== undefined) record.chatId = chatId;
    this.callRecords.push(record);
    const outcome =
      record.method === "getUpdates"
        ? { ok: false as const, error_code: 409, description: WEBHOOK_CONFLICT }
        : await this.execute(record.method, { params, files: new Map() });
    this.finishCall(record, outcome);
  }

  // -------------------------------------------------------------------------
  // Chats and messages

  private chatFor(chatId: number, from?: Partial<User>): ChatState {
    let chat = this.chats.get(chatId);
    if (chat === undefined) {
      chat = {
        id: chatId,
        user: { id: chatId, is_bot: false, first_name: `User ${chatId}`, language_code: "en" },
        started: false,
        blocked: false,
        deactivated: false,
        lastMessageId: 0,
        messages: new Map(),
      };
      this.chats.set(chatId, chat);
    }
    if (from !== undefined) chat.user = { ...chat.user, ...from, id: chatId, is_bot: false };
    return chat;
  }

  private chatObject(chat: ChatState): Chat.PrivateChat {
    const result: Chat.PrivateChat = { id: chat.id, type: "private", first_name: chat.user.first_name };
    if (chat.user.last_name !== undefined) result.last_name = chat.user.last_name;
    if (chat.user.username !== undefined) result.username = chat.user.username;
    return result;
  }

  private assertUserCanAct(chat: ChatState): void {
    if (chat.deactivated) throw new Error(`chat ${chat.id}: the user is deactivated and cannot act`);
    if (chat.blocked) throw new Error(`chat ${chat.id}: the user blocked the bot; call unblock(${chat.id}) first`);
  }

  private injectUserMessage(chatId: number, from: Partial<User> | undefined, content: Partial<Message>): Update {
    const chat = this.chatFor(chatId, from);
    this.assertUserCanAct(chat);
    chat.started = true;
    const message = {
      ...content,
      message_id: ++chat.lastMessageId,
      from: chat.user,
      date: Math.floor(Date.now() / 1000),
      chat: this.chatObject(chat),
    } as Message;
    if (content.entities?.length === 0) delete message.entities;
    chat.messages.set(message.message_id, { message, fromBot: false });
    return this.enqueue({ message: structuredClone(message) as NonNullable<Update["message"]> });
  }

  private memberUpdate(chat: ChatState, oldStatus: "member" | "kicked", newStatus: "member" | "kicked") {
    const member = (status: "member" | "kicked"): ChatMember =>
      status === "kicked" ? { status, user: this.botInfo, until_date: 0 } : { status, user: this.botInfo };
    return {
      chat: this.chatObject(chat),
      from: chat.user,
      date: Math.floor(Date.now() / 1000),
      old_chat_member: member(oldStatus),
      new_chat_member: member(newStatus),
    };
  }

  /** Resolves chat_id to a chat the bot may write to, or throws the error Telegram gives. */
  private writableChat(params: Record<string, unknown>): ChatState {
    const raw = readString(params, "chat_id")?.trim();
    if (raw === undefined || raw === "") throw badRequest("chat_id is empty");
    if (!/^-?\d+$/.test(raw)) throw badRequest("chat not found");
    const chat = this.chats.get(Number(raw));
    if (chat?.deactivated) throw new ApiError(403, "Forbidden: user is deactivated");
    if (chat?.blocked) throw new ApiError(403, "Forbidden: bot was blocked by the user");
    if (chat === undefined || !chat.started) throw new ApiError(403, "Forbidden: bot can't initiate conversation with a user");
    return chat;
  }

  private checkFloodLimits(chat: ChatState): void {
    if (this.limits === undefined || this.globalBucket === undefined) return;
    const now = this.now();
    chat.bucket ??= new TokenBucket(this.limits.perChatBurst, this.limits.perChatPerSecond, now);
    const waitMs = Math.max(chat.bucket.waitMs(now), this.globalBucket.waitMs(now));
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      throw new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
    }
    chat.bucket.take();
    this.globalBucket.take();
  }

  private messageIdParam(params: Record<string, unknown>): number {
    const messageId = readInteger(params, "message_id");
    if (messageId === undefined || messageId <= 0) throw badRequest("message identifier is not specified");
    return messageId;
  }

  /** Resolves reply_parameters or reply_to_message_id into the replied message, if any. */
  private repliedMessage(chat: ChatState, params: Record<string, unknown>): Message["reply_to_message"] {
    const replyParameters = readJson(params, "reply_parameters", "can't parse reply parameters JSON object");
    let messageId = readInteger(params, "reply_to_message_id");
    let allowMissing = readBoolean(params, "allow_sending_without_reply");
    if (isRecord(replyParameters)) {
      messageId = readInteger(replyParameters, "message_id");
      allowMissing = readBoolean(replyParameters, "allow_sending_without_reply");
    }
    if (messageId === undefined) return undefined;
    const replied = chat.messages.get(messageId)?.message;
    if (replied === undefined && !allowMissing) throw badRequest("message to be replied not found");
    if (replied === undefined) return undefined;
    const copy = structuredClone(replied);
    delete copy.reply_to_message;
    return copy as NonNullable<Message["reply_to_message"]>;
  }

  /** Stores a new bot message and returns the Message object that the API returns. */
  private storeBotMessage(
    chat: ChatState,
    params: Record<string, unknown>,
    content: Partial<Message>,
    details: Omit<StoredMessage, "message" | "fromBot">,
  ): Message {
    const replied = this.repliedMessage(chat, params);
    this.checkFloodLimits(chat);
    const message = {
      message_id: ++chat.lastMessageId,
      from: {
        id: this.botInfo.id,
        is_bot: true,
        first_name: this.botInfo.first_name,
        username: this.botInfo.username,
      },
      chat: this.chatObject(chat),
      date: Math.floor(Date.now() / 1000),
      ...content,
    } as Message;
    if (replied !== undefined) message.reply_to_message = replied;
    const inline = inlineKeyboardOf(details.replyMarkup);
    if (inline !== undefined) message.reply_markup = inline;
    chat.messages.set(message.message_id, { ...details, message, fromBot: true });
    this.changed();
    return structuredClone(message);
  }

  private toBotMessage(chatId: number, stored: StoredMessage): BotMessage {
    const { message } = stored;
    const view: BotMessage = {
      message_id: message.message_id,
      chat_id: chatId,
      kind: stored.kind ?? "text",
      message: structuredClone(message),
    };
    if (message.text !== undefined) view.text = message.text;
    if (message.caption !== undefined) view.caption = message.caption;
    const entities = message.entities ?? message.caption_entities;
    if (entities !== undefined) view.entities = structuredClone(entities);
    if (stored.parseMode !== undefined) view.parse_mode = stored.parseMode;
    if (stored.source !== undefined) view.source = stored.source;
    if (stored.replyMarkup !== undefined) view.reply_markup = structuredClone(stored.replyMarkup);
    if (message.edit_date !== undefined) view.edit_date = message.edit_date;
    if (stored.upload !== undefined) view.upload = { ...stored.upload };
    return view;
  }

  private existingBotMessage(chat: ChatState, messageId: number, notFound: string): StoredMessage {
    const stored = chat.messages.get(messageId);
    if (stored === undefined) throw badRequest(notFound);
    if (!stored.fromBot) throw badRequest("message can't be edited");
    return stored;
  }

  // -------------------------------------------------------------------------
  // Files

  private newFileIds(kind: string): { file_id: string; file_unique_id: string } {
    const number = this.nextFileNumber++;
    return { file_id: `${kind}-${number}-${this.botInfo.id}`, file_unique_id: `u${kind}${number}` };
  }

  private photoSizes(ids: { file_id: string; file_unique_id: string }, size: number): PhotoSize[] {
    return [
      { file_id: `${ids.file_id}-s`, file_unique_id: `${ids.file_unique_id}s`, width: 90, height: 90, file_size: Math.ceil(size / 20) },
      { ...ids, width: 800, height: 800, file_size: size },
    ];
  }

  /**
   * Resolves a photo or document parameter: an upload (a file part under the
   * field's name, or "attach://name"), a file_id the stand-in issued, or an
   * HTTP URL.
   */
  private resolveFile(
    context: MethodContext,
    field: "photo" | "document",
  ): { ids: { file_id: string; file_unique_id: string }; stored: StoredFile; upload?: UploadInfo } {
    const value = readString(context.params, field);
    const attached = value?.startsWith("attach://") ? context.files.get(value.slice("attach://".length)) : undefined;
    const upload = attached ?? context.files.get(field);
    if (upload !== undefined) {
      if (upload.data.length === 0) throw badRequest("file must be non-empty");
      const ids = this.newFileIds(field);
      const stored: StoredFile = { kind: field, fileUniqueId: ids.file_unique_id, filename: upload.filename, size: upload.data.length };
      const mimeType = mimeTypeOf(upload.filename);
      if (mimeType !== undefined) stored.mimeType = mimeType;
      this.files.set(ids.file_id, stored);
      return { ids, stored, upload: { filename: upload.filename, size: upload.data.length, contentType: upload.contentType } };
    }
    if (value === undefined || value === "" || value.startsWith("attach://")) {
      throw badRequest(`there is no ${field} in the request`);
    }
    const known = this.files.get(value);
    if (known !== undefined) {
      if (known.kind !== field) throw badRequest(`wrong file identifier/HTTP URL specified`);
      return { ids: { file_id: value, file_unique_id: known.fileUniqueId }, stored: known };
    }
    if (!/^https?:\/\/[^\s/]+/i.test(value)) throw badRequest("wrong file identifier/HTTP URL specified");
    const ids = this.newFileIds(field);
    const filename = decodeURIComponent(new URL(value).pathname.split("/").pop() || "file");
    const stored: StoredFile = { kind: field, fileUniqueId: ids.file_unique_id, filename, size: 0 };
    const mimeType = mimeTypeOf(filename);
    if (mimeType !== undefined) stored.mimeType = mimeType;
    this.files.set(ids.file_id, stored);
    return { ids, stored };
  }

  // -------------------------------------------------------------------------
  // Methods

  private methodTable(): Map<string, { name: string; run: MethodHandler }> {
    const handlers: Record<string, MethodHandler> = {
      getMe: () => this.botInfo,
      setWebhook: (c) => this.setWebhook(c.params),
      deleteWebhook: (c) => this.deleteWebhook(c.params),
      getWebhookInfo: () => this.webhookInfo(),
      sendMessage: (c) => this.sendMessageMethod(c.params),
      sendPhoto: (c) => this.sendFileMethod(c, "photo"),
      sendDocument: (c) => this.sendFileMethod(c, "document"),
      sendPoll: (c) => this.sendPollMethod(c.params),
      editMessageText: (c) => this.editMessageText(c.params),
      editMessageReplyMarkup: (c) => this.editMessageReplyMarkup(c.params),
      deleteMessage: (c) => this.deleteMessage(c.params),
      answerCallbackQuery: (c) => this.answerCallbackQuery(c.params),
      sendChatAction: (c) => this.sendChatAction(c.params),
      setMyCommands: (c) => this.setMyCommands(c.params),
      getMyCommands: (c) => structuredClone(this.commands.get(this.commandsKey(c.params)) ?? []),
      deleteMyCommands: (c) => this.commands.delete(this.commandsKey(c.params)) || true,
      // handleHttp handles getUpdates itself, because it may hold the request open.
      getUpdates: () => [],
    };
    return new Map(Object.entries(handlers).map(([name, run]) => [name.toLowerCase(), { name, run }]));
  }

  private sendMessageMethod(params: Record<string, unknown>): Message {
    const formatted = formatText(params, "text");
    const replyMarkup = readReplyMarkup(params);
    const linkPreview = readJson(params, "link_preview_options", "can't parse link preview options JSON object");
    const chat = this.writableChat(params);
    const content: Partial<Message> = { text: formatted?.text ?? "" };
    if (formatted !== undefined && formatted.entities.length > 0) content.entities = formatted.entities;
    if (isRecord(linkPreview)) content.link_preview_options = linkPreview;
    return this.storeBotMessage(chat, params, content, this.sentDetails(params, "text", replyMarkup));
  }

  private sentDetails(
    params: Record<string, unknown>,
    field: "text" | "caption",
    replyMarkup: SentReplyMarkup | undefined,
  ): Omit<StoredMessage, "message" | "fromBot"> {
    const details: Omit<StoredMessage, "message" | "fromBot"> = {};
    const source = readString(params, field);
    const parseMode = readString(params, "parse_mode");
    if (source !== undefined) details.source = source;
    if (parseMode !== undefined && parseMode !== "") details.parseMode = parseMode;
    if (replyMarkup !== undefined) details.replyMarkup = replyMarkup;
    return details;
  }

  private sendFileMethod(context: MethodContext, field: "photo" | "document"): Message {
    const { params } = context;
    const caption = formatText(params, "caption");
    const replyMarkup = readReplyMarkup(params);
    const chat = this.writableChat(params);
    const file = this.resolveFile(context, field);
    const content: Partial<Message> = {};
    if (field === "photo") {
      content.photo = this.photoSizes(file.ids, file.stored.size);
    } else {
      const document: Document = { ...file.ids, file_size: file.stored.size };
      if (file.stored.filename !== undefined) document.file_name = file.stored.filename;
      if (file.stored.mimeType !== undefined) document.mime_type = file.stored.mimeType;
      content.document = document;
    }
    if (caption !== undefined) {
      content.caption = caption.text;
      if (caption.entities.length > 0) content.caption_entities = caption.entities;
    }
    const details = { ...this.sentDetails(params, "caption", replyMarkup), kind: field };
    if (file.upload !== undefined) Object.assign(details, { upload: file.upload });
    return this.storeBotMessage(chat, params, content, details);
  }

  private sendPollMethod(params: Record<string, unknown>): Message {
    const question = readString(params, "question")?.trim() ?? "";
    if (question === "") throw badRequest("poll question must be non-empty");
    if (characterCount(question) > 300) throw badRequest("poll question length must not exceed 300");
    const options = readJson(params, "options", "can't parse options JSON object");
    const texts = Array.isArray(options)
      ? options.map((option: unknown) => (isRecord(option) ? readString(option, "text") : readString({ option }, "option")) ?? "")
      : [];
    if (texts.length < 2) throw badRequest("poll must have at least 2 option");
    if (texts.length > POLL_OPTIONS_MAX) throw badRequest(`poll can't have more than ${POLL_OPTIONS_MAX} options`);
    if (texts.some((text) => text.trim() === "")) throw badRequest("poll options must be non-empty");
    const replyMarkup = readReplyMarkup(params);
    const chat = this.writableChat(params);
    const pollId = String(this.nextFileNumber++);
    const type = readString(params, "type") === "quiz" ? "quiz" : "regular";
    const poll: Poll = {
      id: pollId,
      question,
      options: texts.map((text, index) => ({ persistent_id: `${pollId}-${index}`, text, voter_count: 0 })),
      total_voter_count: 0,
      is_closed: readBoolean(params, "is_closed"),
      is_anonymous: params.is_anonymous === undefined ? true : readBoolean(params, "is_anonymous"),
      type,
      allows_multiple_answers: readBoolean(params, "allows_multiple_answers"),
      allows_revoting: false,
      members_only: false,
    };
    const details: Omit<StoredMessage, "message" | "fromBot"> = { kind: "poll", source: question };
    if (replyMarkup !== undefined) details.replyMarkup = replyMarkup;
    return this.storeBotMessage(chat, params, { poll }, details);
  }

  private editMessageText(params: Record<string, unknown>): Message {
    if (readString(params, "inline_message_id") !== undefined) {
      throw badRequest("inline messages are not supported by the Bot API stand-in");
    }
    const messageId = this.messageIdParam(params);
    const formatted = formatText(params, "text");
    const replyMarkup = readReplyMarkup(params);
    const chat = this.writableChat(params);
    const stored = this.existingBotMessage(chat, messageId, "message to edit not found");
    const { message } = stored;
    if (message.text === undefined) throw badRequest("there is no text in the message to edit");
    const text = formatted?.text ?? "";
    const entities = formatted !== undefined && formatted.entities.length > 0 ? formatted.entities : undefined;
    const inline = inlineKeyboardOf(replyMarkup);
    if (
      text === message.text &&
      canonicalJson(entities ?? []) === canonicalJson(message.entities ?? []) &&
      canonicalJson(inline ?? null) === canonicalJson(message.reply_markup ?? null)
    ) {
      throw badRequest(NOT_MODIFIED);
    }
    message.text = text;
    if (entities === undefined) delete message.entities;
    else message.entities = entities;
    this.setMarkup(stored, replyMarkup);
    Object.assign(stored, this.sentDetails(params, "text", replyMarkup));
    if (readString(params, "parse_mode") === undefined) delete stored.parseMode;
    return this.markEdited(stored);
  }

  private editMessageReplyMarkup(params: Record<string, unknown>): Message {
    if (readString(params, "inline_message_id") !== undefined) {
      throw badRequest("inline messages are not supported by the Bot API stand-in");
    }
    const messageId = this.messageIdParam(params);
    const replyMarkup = readReplyMarkup(params);
    const chat = this.writableChat(params);
    const stored = this.existingBotMessage(chat, messageId, "message to edit not found");
    if (canonicalJson(inlineKeyboardOf(replyMarkup) ?? null) === canonicalJson(stored.message.reply_markup ?? null)) {
      throw badRequest(NOT_MODIFIED);
    }
    this.setMarkup(stored, replyMarkup);
    return this.markEdited(stored);
  }

  /** Replaces the message's keyboard. An edit without reply_markup removes it, as on Telegram. */
  private setMarkup(stored: StoredMessage, replyMarkup: SentReplyMarkup | undefined): void {
    const inline = inlineKeyboardOf(replyMarkup);
    if (inline === undefined) {
      delete stored.message.reply_markup;
      delete stored.replyMarkup;
    } else {
      stored.message.reply_markup = inline;
      stored.replyMarkup = inline;
    }
  }

  private markEdited(stored: StoredMessage): Message {
    stored.message.edit_date = Math.floor(Date.now() / 1000);
    this.changed();
    return structuredClone(stored.message);
  }

  private deleteMessage(params: Record<string, unknown>): true {
    const raw = readString(params, "chat_id");
    if (raw === undefined || raw === "") throw badRequest("chat_id is empty");
    const messageId = this.messageIdParam(params);
    const chat = this.chats.get(readInteger(params, "chat_id") ?? Number.NaN);
    if (chat === undefined || !chat.messages.delete(messageId)) throw badRequest("message to delete not found");
    this.changed();
    return true;
  }

  private answerCallbackQuery(params: Record<string, unknown>): true {
    const query = this.callbackQueries.get(readString(params, "callback_query_id") ?? "");
    if (query === undefined || query.answered) throw badRequest(QUERY_INVALID);
    query.answered = true;
    return true;
  }

  private sendChatAction(params: Record<string, unknown>): true {
    const action = readString(params, "action");
    if (action === undefined || action === "") throw badRequest("action is empty");
    if (!CHAT_ACTIONS.has(action)) throw badRequest("wrong parameter action in request");
    this.writableChat(params);
    return true;
  }

  private commandsKey(params: Record<string, unknown>): string {
    const scope = readJson(params, "scope", "can't parse BotCommandScope JSON object") ?? { type: "default" };
    if (!isRecord(scope) || typeof scope.type !== "string") throw badRequest("can't parse BotCommandScope JSON object");
    return `${canonicalJson(scope)}|${readString(params, "language_code") ?? ""}`;
  }

  private setMyCommands(params: Record<string, unknown>): true {
    const commands = readJson(params, "commands", "can't parse commands JSON object");
    if (!Array.isArray(commands)) throw badRequest("can't parse commands JSON object");
    if (commands.length > COMMANDS_MAX) throw badRequest("BOT_COMMANDS_TOO_MUCH");
    const checked: BotCommand[] = [];
    for (const entry of commands as unknown[]) {
      if (!isRecord(entry)) throw badRequest("can't parse BotCommand JSON object");
      const command = readString(entry, "command") ?? "";
      const description = readString(entry, "description") ?? "";
      if (!/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest("BOT_COMMAND_INVALID");
      const length = characterCount(description.trim());
      if (length < 1 || length > 256) throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
      checked.push({ command, description });
    }
    const key = this.commandsKey(params);
    if (checked.length === 0) this.commands.delete(key);
    else this.commands.set(key, checked);
    return true;
  }

  private setWebhook(params: Record<string, unknown>): WebhookResult {
    const url = readString(params, "url") ?? "";
    if (url === "") return this.deleteWebhook(params);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badRequest("bad webhook: invalid webhook URL specified");
    }
    if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || !isLoopbackHost(parsed.hostname)) {
      throw badRequest("bad webhook: the Bot API stand-in delivers webhooks only to http(s) URLs on loopback addresses");
    }
    const secretToken = readString(params, "secret_token");
    if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
      throw badRequest("secret token contains unallowed characters");
    }
    if (readBoolean(params, "drop_pending_updates")) this.pending.length = 0;
    const same = this.webhook?.url === url && this.webhook.secretToken === secretToken;
    const webhook: Webhook = { url, maxConnections: readInteger(params, "max_connections") ?? 40 };
    if (secretToken !== undefined) webhook.secretToken = secretToken;
    const allowedUpdates = readJson(params, "allowed_updates", "can't parse allowed updates JSON object");
    if (allowedUpdates !== undefined) webhook.allowedUpdates = allowedUpdates;
    this.webhook = webhook;
    this.longPoll?.finish({ ok: false, error_code: 409, description: "Conflict: terminated by setWebhook request" });
    this.deliverWebhook();
    return new WebhookResult(same ? "Webhook is already set" : "Webhook was set");
  }

  private deleteWebhook(params: Record<string, unknown>): WebhookResult {
    if (readBoolean(params, "drop_pending_updates")) this.pending.length = 0;
    const had = this.webhook !== undefined;
    this.webhook = undefined;
    clearTimeout(this.webhookRetryTimer);
    return new WebhookResult(had ? "Webhook was deleted" : "Webhook is already deleted");
  }

  private webhookInfo(): Record<string, unknown> {
    const info: Record<string, unknown> = {
      url: this.webhook?.url ?? "",
      has_custom_certificate: false,
      pending_update_count: this.pending.length,
    };
    const webhook = this.webhook;
    if (webhook === undefined) return info;
    info.max_connections = webhook.maxConnections;
    info.ip_address = "127.0.0.1";
    if (webhook.allowedUpdates !== undefined) info.allowed_updates = webhook.allowedUpdates;
    if (webhook.lastErrorDate !== undefined) info.last_error_date = webhook.lastErrorDate;
    if (webhook.lastErrorMessage !== undefined) info.last_error_message = webhook.lastErrorMessage;
    return info;
  }
}

/**
 * Starts a Bot API stand-in on 127.0.0.1 with a random free port. Close it
 * with {@link BotApiStandIn.close} when done.
 */
export function startBotApiStandIn(options: BotApiStandInOptions = {}): Promise<BotApiStandIn> {
  return BotApiStandIn.start(options);
}
