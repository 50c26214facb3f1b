import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type Database from "better-sqlite3";
import { handleInbound } from "../src/engine/engine.js";
import type { EngineResult, EnrollmentState } from "../src/engine/types.js";
import { caseFolder, countFromEnv, createBenchApp, finishCase, RssSampler, type CaseResult, type Figures } from "./measure.js";
import { walkInRounds } from "./walk.js";

/** The fixed clock of both cases: Tuesday 10 March 2026, 10:00 UTC. */
const clock = Date.UTC(2026, 2, 10, 10, 0);

/** Telegram chat ids of the benchmark learners start after this. */
const chatBase = 1_000_000;

/** Tables that processInbound writes, whose row counts both cases report. */
const writtenTables = ["processed_updates", "learners", "addresses", "enrollments", "events", "answers", "reflections", "outbox"];

function learnerCount(): number {
  return countFromEnv("BENCH_LEARNERS", 1000);
}

/**
 * Case a: learners walk module 1 through Store.processInbound on a SQLite
 * file, as a Telegram update does: one transaction per input, with the
 * update id recorded, the state saved, events and replies written.
 */
export async function engineCase(): Promise<CaseResult> {
  const sampler = new RssSampler();
  const folder = caseFolder("engine");
  const app = await createBenchApp({ DATABASE_FILE: join(folder, "engine.sqlite") }, { now: () => clock });
  const { store, context } = app;
  let updateId = 0;
  const startedAt = performance.now();
  const inputs = walkInRounds(learnerCount(), (learner, inbound) => {
    updateId++;
    const processed = store.processInbound(
      { channel: "telegram", address: String(chatBase + learner), updateId: String(updateId), inbound, now: clock },
      (state) => handleInbound(state, inbound, context, clock),
    );
    if (processed.result === null) throw new Error(`update ${updateId} was skipped as a duplicate, but every update id in the benchmark is new`);
    if (updateId % 1000 === 0) sampler.sample();
    return processed.result;
  });
  const elapsedMs = performance.now() - startedAt;
  const figures: Figures = { learners: learnerCount(), inputs, elapsedMs, inputsPerSecond: inputs / (elapsedMs / 1000), ...countRows(app.database.sqlite) };
  await app.close();
  rmSync(folder, { recursive: true, force: true });
  return finishCase("engine", figures, sampler);
}

/** The rows that one input writes, worked out from the engine's result. */
interface WriteSet {
  learner: number;
  updateId: string;
  /** True for the learner's first input, which creates the learner, the address and the enrollment. */
  first: boolean;
  result: EngineResult;
}

/**
 * Case a, floor: the same inputs run through the pure engine first, untimed,
 * then the rows that processInbound writes for them are written with plain
 * better-sqlite3 statements, one transaction per input. It does none of
 * processInbound's reads and no ORM work, so it is the cost of the writes
 * alone.
 */
export async function floorCase(): Promise<CaseResult> {
  const sampler = new RssSampler();
  const folder = caseFolder("floor");
  // The app opens and migrates the file, so the floor writes the same tables and indexes.
  const app = await createBenchApp({ DATABASE_FILE: join(folder, "floor.sqlite") }, { now: () => clock });
  const { context } = app;
  const states: (EnrollmentState | null)[] = [];
  const writes: WriteSet[] = [];
  const engineStartedAt = performance.now();
  walkInRounds(learnerCount(), (learner, inbound) => {
    const state = states[learner] ?? null;
    const result = handleInbound(state, inbound, context, clock);
    states[learner] = result.state;
    writes.push({ learner, updateId: String(writes.length + 1), first: state === null, result });
    return result;
  });
  const engineMs = performance.now() - engineStartedAt;
  sampler.sample();

  const writer = new RawWriter(app.database.sqlite, app.course.id, app.course.version, app.course.sourceLanguage);
  const startedAt = performance.now();
  for (const [index, write] of writes.entries()) {
    writer.write(write);
    if (index % 1000 === 0) sampler.sample();
  }
  const elapsedMs = performance.now() - startedAt;
  const figures: Figures = {
    learners: learnerCount(),
    inputs: writes.length,
    elapsedMs,
    inputsPerSecond: writes.length / (elapsedMs / 1000),
    engineOnlyMs: engineMs,
    engineOnlyInputsPerSecond: writes.length / (engineMs / 1000),
    ...countRows(app.database.sqlite),
  };
  await app.close();
  rmSync(folder, { recursive: true, force: true });
  return finishCase("floor", figures, sampler);
}

/** Row counts of the tables processInbound writes, as `rows.<table>`. */
function countRows(sqlite: Database.Database): Figures {
  const counts: Figures = {};
  for (const table of writtenTables) {
    counts[`rows.${table}`] = (sqlite.prepare(`select count(*) as count from ${table}`).get() as { count: number }).count;
  }
  return counts;
}

/** Writes a WriteSet with prepared statements, the columns and values that Store writes. */
class RawWriter {
  private readonly enrollmentIds = new Map<number, number>();
  private readonly insertUpdate: Database.Statement;
  private readonly insertLearner: Database.Statement;
  private readonly insertAddress: Database.Statement;
  private readonly insertEnrollment: Database.Statement;
  private readonly updateEnrollment: Database.Statement;
  private readonly insertEvent: Database.Statement;
  private readonly insertAnswer: Database.Statement;
  private readonly insertReflection: Database.Statement;
  private readonly insertOutbox: Database.Statement;
  private readonly transaction: (write: WriteSet) => void;

  constructor(
    sqlite: Database.Database,
    private readonly courseId: string,
    private readonly courseVersion: string,
    private readonly sourceLanguage: string,
  ) {
    const stateColumns =
      "language, role, stage, position, part, phase, menu, prompt, skipped, pace, hour, time_zone, paused, stopped, dormant, " +
      "next_release_at, last_release_at, reminders_sent, idle_since, updated_at, last_activity_at, last_channel, last_address";
    const stateValues =
      "@language, @role, @stage, @position, @part, @phase, @menu, @prompt, @skipped, @pace, @hour, @time_zone, @paused, @stopped, @dormant, " +
      "@next_release_at, @last_release_at, @reminders_sent, @idle_since, @updated_at, @last_activity_at, @last_channel, @last_address";
    const assignments = stateColumns.split(", ").map((column) => `${column} = @${column}`).join(", ");
    this.insertUpdate = sqlite.prepare("insert into processed_updates (channel, update_id, at) values (?, ?, ?) on conflict do nothing");
    this.insertLearner = sqlite.prepare("insert into learners (created_at) values (?)");
    this.insertAddress = sqlite.prepare("insert into addresses (learner_id, channel, address, created_at) values (?, ?, ?, ?)");
    this.insertEnrollment = sqlite.prepare(
      `insert into enrollments (learner_id, course_id, course_version, created_at, ${stateColumns}) values (@learner_id, @course_id, @course_version, @created_at, ${stateValues})`,
    );
    this.updateEnrollment = sqlite.prepare(`update enrollments set ${assignments} where id = @id`);
    this.insertEvent = sqlite.prepare("insert into events (enrollment_id, type, data, at) values (?, ?, ?, ?)");
    this.insertAnswer = sqlite.prepare(
      "insert into answers (enrollment_id, step_id, option_id, correct, kind, language, answered_at) values (?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
    );
    this.insertReflection = sqlite.prepare("insert into reflections (enrollment_id, step_id, language, text, created_at) values (?, ?, ?, ?, ?)");
    this.insertOutbox = sqlite.prepare(
      "insert into outbox (enrollment_id, channel, address, payload, lane, not_before, created_at) values (?, ?, ?, ?, 'reply', ?, ?)",
    );
    this.transaction = sqlite.transaction((write: WriteSet) => this.writeRows(write));
  }

  write(write: WriteSet): void {
    this.transaction(write);
  }

  private writeRows(write: WriteSet): void {
    const address = String(chatBase + write.learner);
    const { state, events, messages } = write.result;
    this.insertUpdate.run("telegram", write.updateId, clock);
    const columns = {
      language: state.language,
      role: state.role,
      stage: state.stage,
      position: state.position,
      part: state.part,
      phase: state.phase,
      menu: state.menu,
      prompt: state.prompt,
      skipped: JSON.stringify(state.skipped),
      pace: state.pace,
      hour: state.hour,
      time_zone: state.timeZone,
      paused: state.paused ? 1 : 0,
      stopped: state.stopped ? 1 : 0,
      dormant: state.dormant ? 1 : 0,
      next_release_at: state.nextReleaseAt,
      last_release_at: state.lastReleaseAt,
      reminders_sent: state.remindersSent,
      idle_since: state.idleSince,
      updated_at: clock,
      last_activity_at: clock,
      last_channel: "telegram",
      last_address: address,
    };
    let enrollmentId = this.enrollmentIds.get(write.learner);
    if (write.first || enrollmentId === undefined) {
      const learnerId = Number(this.insertLearner.run(clock).lastInsertRowid);
      this.insertAddress.run(learnerId, "telegram", address, clock);
      const inserted = this.insertEnrollment.run({ ...columns, learner_id: learnerId, course_id: this.courseId, course_version: this.courseVersion, created_at: clock });
      enrollmentId = Number(inserted.lastInsertRowid);
      this.enrollmentIds.set(write.learner, enrollmentId);
    } else {
      this.updateEnrollment.run({ ...columns, id: enrollmentId });
    }
    const language = state.language ?? this.sourceLanguage;
    for (const event of events) {
      const { type, ...data } = event;
      if (event.type === "reflection_saved") {
        this.insertReflection.run(enrollmentId, event.stepId, language, event.text, clock);
        delete (data as { text?: string }).text;
      }
      if (event.type === "answer_graded" || event.type === "decision_made") {
        const correct = event.type === "answer_graded" && event.correct ? 1 : 0;
        const kind = event.type === "answer_graded" ? "quiz" : "scenario";
        this.insertAnswer.run(enrollmentId, event.stepId, event.optionId, correct, kind, language, clock);
      }
      this.insertEvent.run(enrollmentId, type, JSON.stringify(data), clock);
    }
    for (const message of messages) {
      this.insertOutbox.run(enrollmentId, "telegram", address, JSON.stringify(message), clock, clock);
    }
  }
}
