import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import pino from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Course } from "../../src/content/model.js";
import { openDatabase, type OpenDatabase } from "../../src/db/database.js";
import { decodeCallback } from "../../src/engine/callback.js";
import { handleInbound } from "../../src/engine/engine.js";
import type { EngineContext, Inbound } from "../../src/engine/types.js";
import { Scheduler } from "../../src/scheduler.js";
import { Store } from "../../src/store.js";
import { loadValidCourse, moduleOneContent, strictContext } from "../support/context.js";

let course: Course;
let context: EngineContext;
const opened: OpenDatabase[] = [];
const day = 24 * 60 * 60 * 1000;

beforeAll(() => {
  course = loadValidCourse(moduleOneContent());
  context = strictContext(course);
});

afterEach(() => {
  for (const database of opened.splice(0)) database.close();
});

function setup() {
  const database = openDatabase(join(mkdtempSync(join(tmpdir(), "waypoints-scheduler-")), "db.sqlite"));
  opened.push(database);
  const store = new Store(database.db, course);
  const scheduler = new Scheduler({ store, context, logger: pino({ level: "silent" }) });
  return { database, store, scheduler };
}

const at = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();

/** Enrolls a learner on Telegram and takes them to the end of the first unit, where a paced lesson is held. */
function enrollAndFinishUnit(store: Store, address: string, pace: string, zone: string, startedAt: number): void {
  let now = startedAt;
  const send = (inbound: Inbound) => {
    now += 1000;
    store.processInbound({ channel: "telegram", address, updateId: null, inbound, now }, (state) => handleInbound(state, inbound, context, now));
  };
  const press = (choice: string) => {
    const buttons = store.outboxAfter("telegram", address, 0).flatMap((row) => row.message.choices?.flat() ?? []);
    const button = buttons.reverse().find((candidate) => decodeCallback(candidate.data)?.choice === choice);
    if (!button) throw new Error(`no button ${choice}`);
    send({ type: "choice", data: button.data });
  };
  send({ type: "command", command: "start", args: "" });
  press("lang.en");
  press("consent.yes");
  press("role.teacher");
  press(`pace.${pace}`);
  if (pace !== "self") press("hour.9");
  send({ type: "text", text: zone });
  for (let guard = 0; guard < 40; guard++) {
    const state = store.stateAt("telegram", address);
    if (!state || state.phase === "waiting" || state.phase === "module_end") return;
    if (state.phase === "question") {
      const option = store.outboxAfter("telegram", address, 0).at(-1)?.message.choices?.[0]?.[0];
      send({ type: "choice", data: option!.data });
    } else {
      press("next");
    }
  }
}

function bulkRows(database: OpenDatabase, address: string): { payload: string }[] {
  return database.sqlite.prepare("select payload from outbox where address = ? and lane = 'bulk' order by id").all(address) as { payload: string }[];
}

describe("scheduler", () => {
  it("releases each learner's lesson at their own local hour", async () => {
    const { database, store, scheduler } = setup();
    const zones = { "10": "Europe/Madrid", "11": "America/Bogota", "12": "Asia/Kolkata" };
    for (const [address, zone] of Object.entries(zones)) {
      enrollAndFinishUnit(store, address, "daily", zone, at("2026-03-02T10:00", zone));
    }
    // 09:00 on 3 March in Madrid is 08:00 UTC: only the Madrid learner is due.
    const first = await scheduler.tick(at("2026-03-03T09:00", "Europe/Madrid"));
    expect(first).toMatchObject({ released: 2, reminded: 0, deferred: 0 });
    expect(bulkRows(database, "10")).toHaveLength(1);
    expect(bulkRows(database, "11")).toHaveLength(0);
    expect(bulkRows(database, "12")).toHaveLength(1);

    expect((await scheduler.tick(at("2026-03-03T08:59", "America/Bogota"))).released).toBe(0);
    expect((await scheduler.tick(at("2026-03-03T09:00", "America/Bogota"))).released).toBe(1);
    expect(bulkRows(database, "11")).toHaveLength(1);
    for (const address of Object.keys(zones)) {
      expect(store.stateAt("telegram", address)?.phase).toBe("reading");
      expect(JSON.parse(bulkRows(database, address)[0]!.payload).text.startsWith("**Lesson · ")).toBe(true);
    }
  });

  it("a second tick sends nothing twice", async () => {
    const { database, store, scheduler } = setup();
    enrollAndFinishUnit(store, "20", "daily", "Europe/Madrid", at("2026-03-02T10:00", "Europe/Madrid"));
    const release = at("2026-03-03T09:00", "Europe/Madrid");
    await scheduler.tick(release);
    await scheduler.tick(release + 60_000);
    expect(bulkRows(database, "20")).toHaveLength(1);
  });

  it("holds a due release through quiet hours", async () => {
    const { database, store, scheduler } = setup();
    enrollAndFinishUnit(store, "30", "daily", "Africa/Nairobi", at("2026-03-02T10:00", "Africa/Nairobi"));
    // The service was down at 09:00; it comes back at 22:30, inside quiet hours.
    const late = await scheduler.tick(at("2026-03-03T22:30", "Africa/Nairobi"));
    expect(late).toMatchObject({ released: 0, deferred: 1 });
    expect((await scheduler.tick(at("2026-03-04T07:59", "Africa/Nairobi"))).deferred).toBe(1);
    expect((await scheduler.tick(at("2026-03-04T08:00", "Africa/Nairobi"))).released).toBe(1);
    expect(bulkRows(database, "30")).toHaveLength(1);
  });

  it("releases across a daylight-saving change without skipping a day", async () => {
    const { store, scheduler } = setup();
    const zone = "Europe/Berlin";
    enrollAndFinishUnit(store, "40", "daily", zone, at("2026-03-28T10:00", zone));
    expect((await scheduler.tick(at("2026-03-29T08:59", zone))).released).toBe(0);
    expect((await scheduler.tick(at("2026-03-29T09:00", zone))).released).toBe(1);
    const next = store.stateAt("telegram", "40")?.nextReleaseAt ?? 0;
    expect(DateTime.fromMillis(next, { zone }).toFormat("yyyy-MM-dd HH:mm")).toBe("2026-03-30 09:00");
  });

  it("sends two reminders at most, then marks the enrollment dormant", async () => {
    const { database, store, scheduler } = setup();
    const start = at("2026-03-02T10:00", "Europe/Madrid");
    enrollAndFinishUnit(store, "50", "self", "Europe/Madrid", start);
    // A self-paced learner at the module summary is waiting on themselves.
    const idle = store.stateAt("telegram", "50")?.idleSince ?? start;
    expect((await scheduler.tick(idle + 3 * day - 60_000)).reminded).toBe(0);
    expect((await scheduler.tick(idle + 3 * day)).reminded).toBe(1);
    expect((await scheduler.tick(idle + 3 * day + 60_000)).reminded).toBe(0);
    expect((await scheduler.tick(idle + 7 * day)).reminded).toBe(1);
    expect((await scheduler.tick(idle + 30 * day)).reminded).toBe(0);
    expect(bulkRows(database, "50")).toHaveLength(2);
    expect(store.stateAt("telegram", "50")).toMatchObject({ remindersSent: 2, dormant: true });
  });

  it("a paused or stopped learner gets nothing", async () => {
    const { database, store, scheduler } = setup();
    const zone = "Europe/Madrid";
    enrollAndFinishUnit(store, "60", "daily", zone, at("2026-03-02T10:00", zone));
    enrollAndFinishUnit(store, "61", "daily", zone, at("2026-03-02T10:00", zone));
    const command = (address: string, name: string) => {
      const now = at("2026-03-02T12:00", zone);
      const inbound: Inbound = { type: "command", command: name, args: "" };
      store.processInbound({ channel: "telegram", address, updateId: null, inbound, now }, (state) => handleInbound(state, inbound, context, now));
    };
    command("60", "pause");
    command("61", "stop");
    expect(await scheduler.tick(at("2026-03-09T09:00", zone))).toMatchObject({ released: 0, reminded: 0 });
    expect(bulkRows(database, "60")).toHaveLength(0);
    expect(bulkRows(database, "61")).toHaveLength(0);
  });

  it("STOP cancels messages still waiting in the outbox", async () => {
    const { database, store } = setup();
    enrollAndFinishUnit(store, "70", "self", "Europe/Madrid", at("2026-03-02T10:00", "Europe/Madrid"));
    const now = at("2026-03-02T12:00", "Europe/Madrid");
    const inbound: Inbound = { type: "text", text: "STOP" };
    store.processInbound({ channel: "telegram", address: "70", updateId: null, inbound, now }, (state) => handleInbound(state, inbound, context, now));
    const statuses = database.sqlite.prepare("select status, count(*) as count from outbox where address = '70' group by status order by status").all();
    const pending = database.sqlite.prepare("select payload from outbox where address = '70' and status = 'pending'").all() as { payload: string }[];
    expect(statuses.map((row) => (row as { status: string }).status)).toEqual(["cancelled", "pending"]);
    expect(pending.map((row) => JSON.parse(row.payload).text)).toEqual([
      "You will get no more messages from this course. Your progress is kept: send /start at any time to continue.",
    ]);
  });
});
