import { rmSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type Database from "better-sqlite3";
import pino from "pino";
import type { Course } from "../src/content/model.js";
import { handleInbound } from "../src/engine/engine.js";
import type { EngineContext, EngineResult, EnrollmentState } from "../src/engine/types.js";
import { Scheduler } from "../src/scheduler.js";
import { Store } from "../src/store.js";
import { caseFolder, countFromEnv, createBenchApp, finishCase, RssSampler, type CaseResult } from "./measure.js";
import { ModuleOneWalk } from "./walk.js";

/** The tick's instant: Tuesday 10 March 2026, 12:00 UTC. */
export const tickAt = Date.UTC(2026, 2, 10, 12, 0);

/**
 * Learners' time zones, in turn. At the tick's instant each is outside the
 * default quiet hours (21:00 to 08:00): 12:00, 13:00, 15:00, 09:00, 17:30.
 */
const zones = ["Etc/UTC", "Europe/Madrid", "Africa/Nairobi", "America/Sao_Paulo", "Asia/Kolkata"];

/** Telegram chat ids of the seeded learners start after this. */
const chatBase = 2_000_000;

const hourMs = 60 * 60 * 1000;

/** A Store that samples the resident set size between the scheduler's batches. */
class SampledStore extends Store {
  constructor(
    db: Store["db"],
    course: Course,
    private readonly sampler: RssSampler,
  ) {
    super(db, course);
  }

  override processScheduled(ids: number[], run: (state: EnrollmentState) => EngineResult, now: number): number {
    this.sampler.sample();
    const queued = super.processScheduled(ids, run, now);
    this.sampler.sample();
    return queued;
  }
}

/**
 * Case b: one Scheduler.tick over a table of enrollments that all wait for
 * their next daily lesson, of which every tenth is due. The enrollments are
 * copies of a real learner's state, taken by walking the engine to its first
 * held lesson, and are written with plain SQL.
 */
export async function schedulerCase(): Promise<CaseResult> {
  const sampler = new RssSampler();
  const enrollments = countFromEnv("BENCH_ENROLLMENTS", 100_000);
  const folder = caseFolder("scheduler");
  const app = await createBenchApp({ DATABASE_FILE: join(folder, "scheduler.sqlite") }, { now: () => tickAt });
  const template = heldLearner(app.context);

  const seedStartedAt = performance.now();
  seed(app.database.sqlite, app.course.id, app.course.version, template, enrollments);
  const seedMs = performance.now() - seedStartedAt;
  sampler.sample();

  const scheduler = new Scheduler({
    store: new SampledStore(app.database.db, app.course, sampler),
    context: app.context,
    logger: pino({ level: "silent" }),
    now: () => tickAt,
  });
  // The histogram records how late its 10 ms timer fires, so its maximum is the longest stretch the tick kept the event loop busy.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  // The histogram counts from its first timer callback, so let that run before the tick starts.
  await new Promise((resolve) => setTimeout(resolve, 30));
  const startedAt = performance.now();
  const tick = await scheduler.tick(tickAt);
  const tickMs = performance.now() - startedAt;
  // A timer that the tick delayed fires only after it, so wait for that sample before reading the maximum.
  await new Promise((resolve) => setTimeout(resolve, 50));
  loopDelay.disable();

  // The next minute's tick finds nothing due: the cost of every other tick.
  const idleStartedAt = performance.now();
  const idleTick = await scheduler.tick(tickAt + 60_000);
  const idleTickMs = performance.now() - idleStartedAt;

  const outboxRows = (app.database.sqlite.prepare("select count(*) as count from outbox where lane = 'bulk'").get() as { count: number }).count;
  const figures = {
    enrollments,
    due: Math.ceil(enrollments / 10),
    seedMs,
    tickMs,
    longestLoopDelayMs: loopDelay.max / 1e6,
    released: tick.released,
    reminded: tick.reminded,
    deferred: tick.deferred,
    queued: tick.queued,
    outboxRows,
    idleTickMs,
    idleTickQueued: idleTick.queued,
  };
  await app.close();
  rmSync(folder, { recursive: true, force: true });
  return finishCase("scheduler", figures, sampler);
}

/** Walks one learner on a daily pace through the engine until it keeps the next lesson back, a day before `tickAt`. */
export function heldLearner(context: EngineContext): EnrollmentState {
  const walk = new ModuleOneWalk(0, "daily");
  let state: EnrollmentState | null = null;
  for (let input = 0; input < 100; input++) {
    const inbound = walk.next();
    if (inbound === null) break;
    const result = handleInbound(state, inbound, context, tickAt - 26 * hourMs);
    walk.observe(result);
    state = result.state;
    if (state.phase === "waiting") return state;
  }
  throw new Error(`the learner did not reach a held lesson; last state: ${JSON.stringify(state)}`);
}

/** Writes learners, addresses, enrollments and their answers, in one transaction. */
function seed(
  sqlite: Database.Database,
  courseId: string,
  courseVersion: string,
  template: EnrollmentState,
  count: number,
): void {
  const insertLearner = sqlite.prepare("insert into learners (id, created_at) values (?, ?)");
  const insertAddress = sqlite.prepare("insert into addresses (learner_id, channel, address, created_at) values (?, 'telegram', ?, ?)");
  const insertEnrollment = sqlite.prepare(
    "insert into enrollments (id, learner_id, course_id, course_version, language, role, stage, position, part, phase, menu, prompt, skipped, " +
      "pace, hour, time_zone, next_release_at, last_release_at, reminders_sent, idle_since, last_activity_at, last_channel, last_address, created_at, updated_at) " +
      "values (@id, @id, @courseId, @courseVersion, @language, @role, 'course', @position, 0, 'waiting', null, @prompt, '[]', " +
      "@pace, @hour, @timeZone, @nextReleaseAt, @lastReleaseAt, 0, @idleSince, @idleSince, 'telegram', @address, @createdAt, @idleSince)",
  );
  // The template is held at its second lesson after one quiz question, so all its stored answers are quiz answers.
  const insertAnswer = sqlite.prepare(
    "insert into answers (enrollment_id, step_id, option_id, correct, kind, language, answered_at) values (?, ?, ?, ?, 'quiz', ?, ?)",
  );
  const createdAt = tickAt - 26 * hourMs;
  const idleSince = tickAt - 2 * hourMs;
  sqlite.transaction(() => {
    for (let id = 1; id <= count; id++) {
      const address = String(chatBase + id);
      const due = id % 10 === 0;
      insertLearner.run(id, createdAt);
      insertAddress.run(id, address, createdAt);
      insertEnrollment.run({
        id,
        courseId,
        courseVersion,
        language: template.language,
        role: template.role,
        position: template.position,
        prompt: template.prompt,
        pace: template.pace,
        hour: template.hour,
        timeZone: zones[id % zones.length],
        // Due enrollments became due an hour before the tick, and the others are due 22 hours after it.
        nextReleaseAt: due ? tickAt - hourMs : tickAt + 22 * hourMs,
        lastReleaseAt: template.lastReleaseAt,
        idleSince,
        address,
        createdAt,
      });
      for (const [stepId, answer] of Object.entries(template.answers)) {
        insertAnswer.run(id, stepId, answer.optionId, answer.correct ? 1 : 0, template.language, createdAt);
      }
    }
  })();
}
