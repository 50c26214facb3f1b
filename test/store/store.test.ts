import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Course } from "../../src/content/model.js";
import { openDatabase, type OpenDatabase } from "../../src/db/database.js";
import { handleInbound } from "../../src/engine/engine.js";
import type { EngineContext, Inbound } from "../../src/engine/types.js";
import { Store } from "../../src/store.js";
import { decodeCallback } from "../../src/engine/callback.js";
import { loadValidCourse, moduleOneContent, strictContext } from "../support/context.js";

let course: Course;
let context: EngineContext;
const opened: OpenDatabase[] = [];

beforeAll(() => {
  course = loadValidCourse(moduleOneContent());
  context = strictContext(course);
});

afterEach(() => {
  for (const database of opened.splice(0)) database.close();
});

function open(file: string): Store {
  const database = openDatabase(file);
  opened.push(database);
  return new Store(database.db, course);
}

let clock = 1_800_000_000_000;

function send(store: Store, address: string, inbound: Inbound, updateId: string | null = null) {
  clock += 1000;
  return store.processInbound(
    { channel: "telegram", address, updateId, inbound, now: clock },
    (state) => handleInbound(state, inbound, context, clock),
  );
}

/** Presses the button with a choice id on the last reply that has buttons. */
function press(store: Store, address: string, choice: string, updateId: string | null = null) {
  const rows = store.outboxAfter("telegram", address, 0);
  const buttons = rows.flatMap((row) => row.message.choices?.flat() ?? []);
  const button = buttons.reverse().find((candidate) => decodeCallback(candidate.data)?.choice === choice);
  if (!button) throw new Error(`no button ${choice}`);
  return send(store, address, { type: "choice", data: button.data }, updateId);
}

describe("store", () => {
  it("creates the file in WAL mode with the migrations applied", () => {
    const file = join(mkdtempSync(join(tmpdir(), "waypoints-store-")), "nested", "db.sqlite");
    const database = openDatabase(file);
    opened.push(database);
    expect(database.sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
    const tables = database.sqlite.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[];
    expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(["answers", "enrollments", "events", "outbox", "processed_updates"]));
  });

  it("resumes every learner where they were after a restart", () => {
    const file = join(mkdtempSync(join(tmpdir(), "waypoints-store-")), "db.sqlite");
    let store = open(file);
    send(store, "100", { type: "command", command: "start", args: "" });
    press(store, "100", "lang.es");
    press(store, "100", "consent.yes");
    press(store, "100", "role.teacher");
    press(store, "100", "pace.self");
    press(store, "100", "region.europe");
    press(store, "100", "zone.Europe/Madrid");
    press(store, "100", "next");
    send(store, "200", { type: "command", command: "start", args: "" });
    const before100 = store.stateAt("telegram", "100");
    const before200 = store.stateAt("telegram", "200");
    opened.pop()?.close();

    store = open(file);
    expect(store.stateAt("telegram", "100")).toEqual(before100);
    expect(store.stateAt("telegram", "200")).toEqual(before200);
    expect(before100).toMatchObject({ language: "es", role: "teacher", stage: "course", part: 1 });
    press(store, "100", "next");
    expect(store.stateAt("telegram", "100")?.part).toBe(2);
  });

  it("processes an update delivered twice once", () => {
    const store = open(join(mkdtempSync(join(tmpdir(), "waypoints-store-")), "db.sqlite"));
    const first = send(store, "300", { type: "command", command: "start", args: "" }, "u-1");
    const again = send(store, "300", { type: "command", command: "start", args: "" }, "u-1");
    expect(first.duplicate).toBe(false);
    expect(first.outboxIds).toHaveLength(1);
    expect(again).toEqual({ duplicate: true, result: null, enrollmentId: null, outboxIds: [] });
    expect(store.outboxAfter("telegram", "300", 0)).toHaveLength(1);
  });

  it("keeps the first answer and stores reflections outside the event log", () => {
    const file = join(mkdtempSync(join(tmpdir(), "waypoints-store-")), "db.sqlite");
    const store = open(file);
    send(store, "400", { type: "command", command: "start", args: "" });
    press(store, "400", "lang.en");
    press(store, "400", "consent.yes");
    press(store, "400", "role.lawyer");
    press(store, "400", "pace.self");
    press(store, "400", "zone.Etc/UTC");
    let state = store.stateAt("telegram", "400");
    while (state?.phase !== "reflection") {
      if (state?.phase === "question") {
        const rows = store.outboxAfter("telegram", "400", 0);
        const option = rows.at(-1)?.message.choices?.[0]?.[0];
        send(store, "400", { type: "choice", data: option!.data });
      } else {
        press(store, "400", "next");
      }
      state = store.stateAt("telegram", "400");
    }
    send(store, "400", { type: "text", text: "I would ask the child first." });
    const sqlite = opened.at(-1)!.sqlite;
    const answers = sqlite.prepare("select step_id, kind from answers order by id").all() as { step_id: string; kind: string }[];
    expect(answers.map((row) => row.step_id)).toEqual(["m1-q1", "m1-q2", "m1-q3", "m1-s1", "m1-q4", "m1-q5"]);
    expect(sqlite.prepare("select text from reflections").all()).toEqual([{ text: "I would ask the child first." }]);
    const logged = sqlite.prepare("select data from events where type = 'reflection_saved'").get() as { data: string };
    expect(JSON.parse(logged.data)).toEqual({ stepId: "m1-r1" });
  });

  it("rolls back the state when the engine throws", () => {
    const store = open(join(mkdtempSync(join(tmpdir(), "waypoints-store-")), "db.sqlite"));
    send(store, "500", { type: "command", command: "start", args: "" });
    const before = store.stateAt("telegram", "500");
    expect(() =>
      store.processInbound({ channel: "telegram", address: "500", updateId: "u-9", inbound: { type: "text", text: "x" }, now: clock }, () => {
        throw new Error("engine failed");
      }),
    ).toThrow("engine failed");
    expect(store.stateAt("telegram", "500")).toEqual(before);
    const retried = send(store, "500", { type: "text", text: "1" }, "u-9");
    expect(retried.duplicate).toBe(false);
  });
});
