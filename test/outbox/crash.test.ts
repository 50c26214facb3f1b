import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.js";
import { startBotApiStandIn, type BotApiStandIn } from "../support/bot-api-stand-in.js";
import { moduleOneContent, projectRoot } from "../support/context.js";

const token = "123456789:AAE-crash-test-token_0123";
const chatCount = 30;
const rowCount = 300;
const chatBase = 7000;
/** Every wait for the service is bounded by this. */
const waitMs = 30_000;

/** Returns the row's chat: rows go to the chats in turn, so ids 1 to 30 are round 0, one row for each chat. */
function chatOf(id: number): number {
  return chatBase + ((id - 1) % chatCount);
}

/** Returns the row's lane: every third round is a reply, so each chat has replies queued behind bulk rows. */
function laneOf(id: number): "reply" | "bulk" {
  return Math.floor((id - 1) / chatCount) % 3 === 0 ? "reply" : "bulk";
}

interface Service {
  child: ChildProcess;
  /** Lines the service wrote to stdout and stderr: pino's JSON at warn level, or a start failure. */
  output: string[];
  exited: Promise<void>;
}

let standIn: BotApiStandIn;
let folder: string;
let databaseFile: string;
let contentDir: string;
const services: Service[] = [];

beforeAll(async () => {
  // Each response waits 50 ms after the stand-in has stored the message, so sends are in flight when the service dies.
  standIn = await startBotApiStandIn({ token, responseDelayMs: 50 });
  for (let index = 0; index < chatCount; index++) standIn.openChat(chatBase + index);
  folder = mkdtempSync(join(tmpdir(), "waypoints-crash-"));
  databaseFile = join(folder, "waypoints.sqlite");
  contentDir = moduleOneContent();

  const database = openDatabase(databaseFile);
  const insert = database.sqlite.prepare(
    "insert into outbox (id, channel, address, payload, lane, not_before, created_at) values (?, 'telegram', ?, ?, ?, ?, ?)",
  );
  const now = Date.now();
  database.sqlite.transaction(() => {
    for (let id = 1; id <= rowCount; id++) insert.run(id, String(chatOf(id)), JSON.stringify({ text: `row-${id}` }), laneOf(id), now, now);
  })();
  database.close();
});

afterAll(async () => {
  for (const service of services) {
    if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill("SIGKILL");
    await service.exited;
  }
  await standIn?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

/**
 * Starts the real service (src/main.ts under tsx) as a child process, in the
 * test's folder so that no .env file is read, with only the settings below.
 */
function startService(): Service {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_FILE: databaseFile,
    CONTENT_DIR: contentDir,
    LOCALES_DIR: join(projectRoot, "locales"),
    TELEGRAM_BOT_TOKEN: token,
    TELEGRAM_API_ROOT: standIn.apiRoot,
    TELEGRAM_CHAT_INTERVAL_MS: "0",
    TELEGRAM_GLOBAL_PER_SECOND: "1000",
    SCHEDULER_ENABLED: "false",
    WEB_CHAT_ENABLED: "false",
    LOG_LEVEL: "warn",
  };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;

  const child = spawn(process.execPath, ["--import", tsx, join(projectRoot, "src/main.ts")], {
    cwd: folder,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });

  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString("utf8").split("\n").filter((line) => line.trim() !== ""));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const service = { child, output, exited };
  services.push(service);
  return service;
}

/** Polls `check` every 100 ms until it returns true. Throws after `waitMs`, naming what was awaited. */
async function waitUntil(check: () => boolean, what: string, service: Service): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!check()) {
    if (service.child.exitCode !== null) throw new Error(`the service exited with code ${service.child.exitCode} while waiting for ${what}:\n${service.output.join("\n")}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${waitMs} ms waiting for ${what}. Service output:\n${service.output.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Returns the service's pino log lines as objects, skipping lines that are not JSON. */
function logEntries(service: Service): { msg?: string; recovered?: number }[] {
  const entries: { msg?: string; recovered?: number }[] = [];
  for (const line of service.output) {
    try {
      entries.push(JSON.parse(line) as { msg?: string; recovered?: number });
    } catch {
      // A line from Node.js or tsx rather than from pino.
    }
  }
  return entries;
}

/** Returns the outbox status of every row, read through a connection of its own. */
function statuses(): Map<number, string> {
  const sqlite = new Database(databaseFile);
  try {
    const rows = sqlite.prepare("select id, status from outbox").all() as { id: number; status: string }[];
    return new Map(rows.map((row) => [row.id, row.status]));
  } finally {
    sqlite.close();
  }
}

/** Returns, for each chat, the row ids of the bot's messages in the order the stand-in received them. */
function deliveries(): Map<number, number[]> {
  const byChat = new Map<number, number[]>();
  for (let index = 0; index < chatCount; index++) {
    const chat = chatBase + index;
    byChat.set(chat, standIn.messages(chat).map((message) => Number(/^row-(\d+)$/.exec(message.text ?? "")?.[1] ?? Number.NaN)));
  }
  return byChat;
}

describe("outbox after a crash", () => {
  it("resends only the rows in flight at SIGKILL", { timeout: 90_000 }, async () => {
    const first = startService();
    await Promise.race([
      standIn.waitFor(() => standIn.stats().sent >= rowCount / 3, { timeoutMs: waitMs, what: `${rowCount / 3} messages sent` }),
      first.exited.then(() => {
        throw new Error(`the service exited with code ${first.child.exitCode} before sending:\n${first.output.join("\n")}`);
      }),
    ]);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(first.child.signalCode).toBe("SIGKILL");

    const atKill = statuses();
    const sendingAtKill = [...atKill].filter(([, status]) => status === "sending").map(([id]) => id);
    const sentAtKill = [...atKill].filter(([, status]) => status === "sent").length;
    expect(sendingAtKill.length, "rows in flight when the service was killed").toBeGreaterThan(0);
    expect(sentAtKill, "rows sent before the kill").toBeLessThan(rowCount);

    const second = startService();
    await waitUntil(() => [...statuses().values()].every((status) => status === "sent"), `all ${rowCount} rows sent`, second);
    second.child.kill("SIGTERM");
    await second.exited;

    const recovered = logEntries(second).find((entry) => entry.msg === "outbox rows left in flight are pending again");
    expect(recovered?.recovered, "rows the restarted service put back to pending").toBe(sendingAtKill.length);

    const counts = new Map<number, number>();
    for (const ids of deliveries().values()) for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const missing = Array.from({ length: rowCount }, (_, index) => index + 1).filter((id) => !counts.has(id));
    expect(missing, "rows never delivered").toEqual([]);
    expect([...counts.keys()].filter((id) => !(id >= 1 && id <= rowCount)), "messages that are no row of the outbox").toEqual([]);

    const twice = [...counts].filter(([, count]) => count > 1).map(([id]) => id).sort((a, b) => a - b);
    expect(twice.filter((id) => !sendingAtKill.includes(id)), "rows delivered twice that were not in flight at the kill").toEqual([]);
    expect(Math.max(...counts.values()), "deliveries of one row at most").toBeLessThanOrEqual(2);
    // The stand-in stores a message before the 50 ms response, so a row in flight at the kill was delivered and is sent again.
    expect(twice.length, "rows delivered twice").toBeGreaterThan(0);

    // Replies go before bulk messages, so row ids increase within each lane of a chat but not across its lanes.
    for (const [chat, ids] of deliveries()) {
      const firstDeliveries = ids.filter((id, index) => ids.indexOf(id) === index);
      for (const lane of ["reply", "bulk"] as const) {
        const inLane = firstDeliveries.filter((id) => laneOf(id) === lane);
        expect(inLane, `first deliveries in chat ${chat}, ${lane} lane`).toEqual([...inLane].sort((a, b) => a - b));
      }
    }
  });
});
