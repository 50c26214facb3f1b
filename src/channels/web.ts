import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
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
  const { store, receive } = options;

  server.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").send(page));

  server.post<{ Params: { session: string }; Body: SendBody }>("/api/chat/:session/send", async (request, reply) => {
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
    return { messages: deliver(store, session, after), notice: notice ?? null };
  });

  server.get<{ Params: { session: string }; Querystring: { after?: string } }>("/api/chat/:session/messages", async (request, reply) => {
    const { session } = request.params;
    if (!sessionPattern.test(session)) return reply.code(400).send(invalidSession(session));
    const after = parseAfter(request.query.after ?? 0);
    if (after === null) return reply.code(400).send(invalidAfter(request.query.after));
    return { messages: deliver(store, session, after) };
  });
}

/** Returns the messages after an id and marks them delivered, since the browser has now received them. */
function deliver(store: Store, session: string, after: number): WebMessage[] {
  const rows = store.outboxAfter("web", session, after);
  const now = Date.now();
  for (const row of rows) if (row.status !== "sent") store.markSent(row.id, now, null);
  return rows.map(toWebMessage);
}

function toWebMessage(row: OutboxRow): WebMessage {
  return { id: row.id, html: toHtml(row.message.text).replace(/\n/g, "<br>"), choices: row.message.choices ?? [] };
}

function parseAfter(value: unknown): number | null {
  const number = typeof value === "string" && value !== "" ? Number(value) : value ?? 0;
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
