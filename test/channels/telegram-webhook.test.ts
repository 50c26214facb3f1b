import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { createApp, type App } from "../../src/app.js";
import { configSchema } from "../../src/config.js";
import { startBotApiStandIn, type BotApiStandIn } from "../support/bot-api-stand-in.js";
import { moduleOneContent } from "../support/context.js";

const token = "123456789:AAE-local-stand-in-token_0456";
const secret = "webhook-secret_0123456789";
let standIn: BotApiStandIn;
let app: App;
let port: number;

/** Finds a free loopback port, because the webhook URL must be known before the server listens. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  standIn = await startBotApiStandIn({ token });
  port = await freePort();
  const config = configSchema.parse({
    PORT: String(port),
    DATABASE_FILE: join(mkdtempSync(join(tmpdir(), "waypoints-webhook-")), "db.sqlite"),
    CONTENT_DIR: moduleOneContent(),
    TELEGRAM_BOT_TOKEN: token,
    TELEGRAM_API_ROOT: standIn.apiRoot,
    TELEGRAM_CHAT_INTERVAL_MS: "0",
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    TELEGRAM_WEBHOOK_SECRET: secret,
  });
  app = await createApp(config, { logger: pino({ level: "silent" }) });
  await app.listen();
});

afterAll(async () => {
  await app?.close();
  await standIn?.close();
});

describe("telegram webhook", () => {
  it("sets the webhook with the secret token", () => {
    const call = standIn.calls().find((candidate) => candidate.method === "setWebhook");
    expect(call?.params.url).toBe(`http://127.0.0.1:${port}/telegram/webhook`);
    expect(call?.params.secret_token).toBe(secret);
    expect(standIn.calls().some((candidate) => candidate.method === "getUpdates")).toBe(false);
  });

  it("answers updates that arrive by webhook", async () => {
    standIn.sendCommand(2001, "start");
    const reply = await standIn.waitFor(() => standIn.messages(2001)[0]);
    expect(reply.text?.startsWith("👋 Welcome to Waypoints")).toBe(true);
  });

  it("rejects a request without the secret", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ update_id: 99, message: { message_id: 1, date: 0, chat: { id: 2002, type: "private" }, text: "/start" } }),
    });
    expect(response.status).toBe(401);
    expect(app.store.stateAt("telegram", "2002")).toBeNull();
  });
});
