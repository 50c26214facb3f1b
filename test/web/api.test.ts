import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type App } from "../../src/app.js";
import type { WebMessage } from "../../src/channels/web.js";
import { configSchema } from "../../src/config.js";
import { moduleOneContent, projectRoot } from "../support/context.js";

let app: App;
const logLines: string[] = [];
const temporaryDirs: string[] = [];
let sessionCount = 0;

beforeAll(async () => {
  const contentDir = moduleOneContent();
  const dataDir = mkdtempSync(join(tmpdir(), "waypoints-web-api-"));
  temporaryDirs.push(contentDir, dataDir);
  const config = configSchema.parse({
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_FILE: join(dataDir, "waypoints.sqlite"),
    CONTENT_DIR: contentDir,
    LOCALES_DIR: join(projectRoot, "locales"),
  });
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(...chunk.toString("utf8").split("\n").filter((line) => line !== ""));
      callback();
    },
  });
  app = await createApp(config, { logger: pino({ level: "info" }, logStream) });
});

afterAll(async () => {
  await app?.close();
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/** Returns a new session id of 32 hexadecimal characters, the form that the page creates. */
function newSession(): string {
  sessionCount++;
  return `${"0".repeat(24)}${sessionCount.toString(16).padStart(8, "0")}`;
}

async function post(session: string, payload: string | object, contentType = "application/json") {
  return app.server.inject({
    method: "POST",
    url: `/api/chat/${session}/send`,
    headers: { "content-type": contentType },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}

const invalidAfter = (quoted: string) => ({
  code: "WP_CHAT_INVALID_AFTER",
  message: `invalid "after" value ${quoted}: use the id of the last message received, a whole number from 0`,
});

describe("web chat API", () => {
  const rejectedQueries: { query: string; quoted: string }[] = [
    { query: "0x10", quoted: '"0x10"' },
    { query: "%20", quoted: '" "' },
    { query: "1e3", quoted: '"1e3"' },
    { query: "-1", quoted: '"-1"' },
    { query: "1.5", quoted: '"1.5"' },
    { query: "", quoted: '""' },
    { query: "99999999999999999999", quoted: '"99999999999999999999"' },
  ];
  for (const { query, quoted } of rejectedQueries) {
    it(`rejects after=${query || "(empty)"} in the query`, async () => {
      const response = await app.server.inject({ method: "GET", url: `/api/chat/${newSession()}/messages?after=${query}` });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(invalidAfter(quoted));
    });
  }

  const rejectedBodies: { after: unknown; quoted: string }[] = [
    { after: "0x10", quoted: '"0x10"' },
    { after: " 1", quoted: '" 1"' },
    { after: "1e3", quoted: '"1e3"' },
    { after: -1, quoted: "-1" },
    { after: 1.5, quoted: "1.5" },
    { after: 2 ** 53, quoted: "9007199254740992" },
    { after: true, quoted: "true" },
  ];
  for (const { after, quoted } of rejectedBodies) {
    it(`rejects after ${quoted} in the body`, async () => {
      const response = await post(newSession(), { text: "/start", after });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(invalidAfter(quoted));
    });
  }

  it("accepts decimal digits and whole numbers as after", async () => {
    const session = newSession();
    const query = await app.server.inject({ method: "GET", url: `/api/chat/${session}/messages?after=007` });
    expect(query.statusCode).toBe(200);
    expect(query.json()).toEqual({ messages: [], language: null });
    const body = await post(session, { text: "/start", after: "0" });
    expect(body.statusCode).toBe(200);
    const numeric = await post(session, { text: "/help", after: 0 });
    expect(numeric.statusCode).toBe(200);
  });

  it("rejects invalid JSON", async () => {
    const response = await post(newSession(), '{"text": "hello"');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      code: "WP_CHAT_INVALID_JSON",
      message: 'the request body is not valid JSON: send a JSON object such as {"text": "hello", "after": 0}',
    });
  });

  it("rejects an empty JSON body", async () => {
    const response = await post(newSession(), "");
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      code: "WP_CHAT_INVALID_JSON",
      message: 'the request body is empty: send a JSON object such as {"text": "hello", "after": 0}',
    });
  });

  for (const contentType of ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]) {
    it(`rejects a ${contentType.split(";")[0]} body`, async () => {
      const response = await post(newSession(), "text=hello", contentType);
      expect(response.statusCode).toBe(415);
      expect(response.json()).toEqual({
        code: "WP_CHAT_UNSUPPORTED_TYPE",
        message: "unsupported content type: send application/json",
      });
    });
  }

  it("rejects a body over 64 KiB", async () => {
    const response = await post(newSession(), { text: "x".repeat(65 * 1024), after: 0 });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({
      code: "WP_CHAT_BODY_TOO_LARGE",
      message: "the request body is over the limit of 64 KiB: send a shorter message",
    });
  });

  it("answers an unknown chat path with a chat error", async () => {
    const response = await app.server.inject({ method: "GET", url: `/api/chat/${newSession()}/history` });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      code: "WP_CHAT_NOT_FOUND",
      message: "no such chat request: use POST /api/chat/<session>/send or GET /api/chat/<session>/messages",
    });
  });

  it("keeps Fastify's errors outside the chat API", async () => {
    const response = await app.server.inject({ method: "GET", url: "/no-such-page" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: "Not Found", statusCode: 404 });
  });

  it("reports the learner's language", async () => {
    const session = newSession();
    const started = await post(session, { text: "/start", after: 0 });
    const { messages, language } = started.json() as { messages: WebMessage[]; language: string | null };
    expect(language).toBeNull();
    const french = messages.flatMap((message) => message.choices.flat()).find((choice) => choice.label === "Français");
    expect(french).toBeDefined();

    const chosen = await post(session, { choice: french!.data, after: messages.at(-1)!.id });
    expect(chosen.statusCode).toBe(200);
    expect(chosen.json()).toMatchObject({ language: "fr" });
    const polled = await app.server.inject({ method: "GET", url: `/api/chat/${session}/messages?after=0` });
    expect(polled.json()).toMatchObject({ language: "fr" });
  });

  it("logs requests without the session id", async () => {
    const session = newSession();
    logLines.length = 0;
    await post(session, { text: "/start", after: 0 });
    await app.server.inject({ method: "GET", url: `/api/chat/${session}/messages?after=0` });
    await post(session, "{");
    await app.server.inject({ method: "GET", url: `/api/chat/${session}/history` });

    const leaks = logLines.filter((line) => line.includes(session));
    expect(leaks).toEqual([]);
    const urls = logLines
      .map((line) => JSON.parse(line) as { msg?: string; req?: { url?: string } })
      .filter((entry) => entry.msg === "incoming request")
      .map((entry) => entry.req?.url);
    expect(urls).toEqual([
      "/api/chat/<session>/send",
      "/api/chat/<session>/messages?after=0",
      "/api/chat/<session>/send",
      "/api/chat/<session>/history",
    ]);
  });
});
