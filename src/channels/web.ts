import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Course } from "../content/model.js";
import type { Inbound } from "../engine/types.js";
import type { Locales } from "../i18n.js";
import { toHtml } from "../render/markdown.js";
import type { OutboxRow, Store } from "../store.js";
import type { App } from "../app.js";
import { parseText } from "./telegram.js";

const page = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../web/chat.html"), "utf8");

const sessionPattern = /^[A-Za-z0-9_-]{16,64}$/;

export interface WebChatOptions {
  store: Store;
  receive: App["receive"];
  locales: Locales;
  course: Course;
}

/** A message as the browser chat renders it. */
export interface WebMessage {
  id: number;
  html: string;
  choices: { data: string; label: string }[][];
}

interface SendBody {
  text?: unknown;
  choice?: unknown;
  after?: unknown;
}

/**
 * Serves the browser chat: the page at `/`, and a JSON API under
 * `/api/chat/<session>` where the session id is the learner's address.
 */
export function registerWebChat(server: FastifyInstance, options: WebChatOptions): void {
  server.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").send(page));
  // Fastify loads a registered plugin when the server gets ready (on listen or the first inject), so it needs no await here.
  void server.register(chatApi, { ...options, prefix: "/api/chat" });
}

/**
 * The chat API as an encapsulated plugin, so that its JSON-only body parsing,
 * its error handler, its 404 handler and its log serializer apply to
 * `/api/chat/*` and to no other route.
 */
const chatApi: FastifyPluginAsync<WebChatOptions> = async (api, { store, receive }) => {
  // The session id in the URL is the learner's address, so request logs show the URL without it.
  api.setChildLoggerFactory((logger, bindings, loggerOptions) =>
    logger.child(bindings, { ...loggerOptions, serializers: { ...loggerOptions.serializers, req: serializeRequest } }));
  // Fastify also parses text/plain by default; the API takes JSON only.
  api.removeContentTypeParser("text/plain");
  api.setErrorHandler(handleChatError);
  api.setNotFoundHandler(async (_request, reply) =>
    reply.code(404).send({
      code: "WP_CHAT_NOT_FOUND",
      message: "no such chat request: use POST /api/chat/<session>/send or GET /api/chat/<session>/messages",
    }));

  api.post<{ Params: { session: string }; Body: SendBody }>("/:session/send", async (request, reply) => {
    const { session } = request.params;
    if (!sessionPattern.test(session)) return reply.code(400).send(invalidSession(session));
    const body = (request.body ?? {}) as SendBody;
    const after = parseAfter(body.after);
    if (after === null) return reply.code(400).send(invalidAfter(body.after));

    let inbound: Inbound;
    if (typeof body.choice === "string" && body.choice.length > 0 && body.choice.length <= 64) {
      inbound = { type: "choice", data: body.choice };
    } else if (typeof body.text === "string") {
      inbound = parseText(body.text);
    } else {
      return reply.code(400).send({
        code: "WP_CHAT_INVALID_BODY",
        message: 'the request needs "text" (a string) or "choice" (the data of a button, at most 64 characters)',
      });
    }
    const notice = receive("web", session, null, inbound);
    return { messages: deliver(store, session, after), notice: notice ?? null, language: languageOf(store, session) };
  });

  api.get<{ Params: { session: string }; Querystring: { after?: unknown } }>("/:session/messages", async (request, reply) => {
    const { session } = request.params;
    if (!sessionPattern.test(session)) return reply.code(400).send(invalidSession(session));
    const after = parseAfter(request.query.after);
    if (after === null) return reply.code(400).send(invalidAfter(request.query.after));
    return { messages: deliver(store, session, after), language: languageOf(store, session) };
  });
};

/** Fastify's request serializer with the session id of a chat URL replaced by `<session>`. */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: request.url.replace(/^\/api\/chat\/[^/?#]+/, "/api/chat/<session>"),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

const exampleBody = 'send a JSON object such as {"text": "hello", "after": 0}';

/**
 * Maps the body errors that Fastify raises before a chat handler runs to
 * WP_CHAT_* codes. Rethrows any other error, which the server's error handler then handles.
 */
function handleChatError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return reply.code(400).send({ code: "WP_CHAT_INVALID_JSON", message: `the request body is not valid JSON: ${exampleBody}` });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return reply.code(400).send({ code: "WP_CHAT_INVALID_JSON", message: `the request body is empty: ${exampleBody}` });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return reply.code(415).send({ code: "WP_CHAT_UNSUPPORTED_TYPE", message: "unsupported content type: send application/json" });
    case "FST_ERR_CTP_BODY_TOO_LARGE": {
      const limit = Math.floor(request.routeOptions.bodyLimit / 1024);
      return reply.code(413).send({
        code: "WP_CHAT_BODY_TOO_LARGE",
        message: `the request body is over the limit of ${limit} KiB: send a shorter message`,
      });
    }
    default:
      throw error;
  }
}

/** Returns the messages after an id and marks them delivered, since the browser has now received them. */
function deliver(store: Store, session: string, after: number): WebMessage[] {
  const rows = store.outboxAfter("web", session, after);
  const now = Date.now();
  for (const row of rows) if (row.status !== "sent") store.markSent(row.id, now, null);
  return rows.map(toWebMessage);
}

function toWebMessage(row: OutboxRow): WebMessage {
  return { id: row.id, html: webHtml(row.message), choices: row.message.choices ?? [] };
}

/** Returns the learner's chosen language, or null before they choose one, so that the page can show its own words in it. */
function languageOf(store: Store, session: string): string | null {
  return store.stateAt("web", session)?.language ?? null;
}

/**
 * Parses the id after which to return messages: decimal digits in a string
 * (as in the query) or a non-negative safe integer, and 0 when absent.
 * Returns null for anything else, such as "0x10", " 1" or "1e3", which Number() would accept.
 */
function webHtml(message: OutboxRow["message"]): string {
  const text = toHtml(message.text).replace(/\n/g, "<br>");
  if (!message.image) return text;
  const attribute = (value: string) => value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  return `<img src="${attribute(message.image.url)}" alt="${attribute(message.image.alt)}" loading="lazy"><br>${text}`;
}

function parseAfter(value: unknown): number | null {
  if (value === undefined) return 0;
  const number = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : value;
  return typeof number === "number" && Number.isSafeInteger(number) && number >= 0 ? number : null;
}

function invalidSession(session: string) {
  return {
    code: "WP_CHAT_INVALID_SESSION",
    message: `invalid chat session "${session.slice(0, 80)}": use 16 to 64 characters of A-Z, a-z, 0-9, _ and -`,
  };
}

function invalidAfter(value: unknown) {
  return {
    code: "WP_CHAT_INVALID_AFTER",
    message: `invalid "after" value ${JSON.stringify(value)}: use the id of the last message received, a whole number from 0`,
  };
}
