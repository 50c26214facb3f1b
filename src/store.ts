import { and, asc, desc, eq, gt, inArray, lte, ne, sql, type SQL } from "drizzle-orm";
import type { Course } from "./content/model.js";
import type { Db } from "./db/database.js";
import {
  addresses,
  answers,
  comments,
  enrollments,
  events,
  learners,
  outbox,
  processedUpdates,
  reflections,
} from "./db/schema.js";
import type {
  Channel,
  EngineEvent,
  EngineResult,
  EnrollmentState,
  Inbound,
  Outbound,
} from "./engine/types.js";

/** One message from a learner, as a channel adapter hands it over. */
export interface InboundMessage {
  channel: Channel;
  address: string;
  /** The platform's id of the update, used to drop redeliveries; null when the channel has none. */
  updateId: string | null;
  inbound: Inbound;
  now: number;
}

export interface ProcessedInbound {
  /** True when the update was processed before; nothing else was done. */
  duplicate: boolean;
  result: EngineResult | null;
  enrollmentId: number | null;
  outboxIds: number[];
}

export type Lane = "reply" | "bulk";

export interface OutboxRow {
  id: number;
  enrollmentId: number | null;
  channel: string;
  address: string;
  message: Outbound;
  lane: Lane;
  status: string;
  attempts: number;
  notBefore: number;
  createdAt: number;
}

type EngineRun = (state: EnrollmentState | null) => EngineResult;

/** Reads and writes learners, their progress and the outbox. */
export class Store {
  /** Queries of every inbound message, prepared once because building them costs more than running them. */
  private readonly queries;

  constructor(
    readonly db: Db,
    private readonly course: Course,
  ) {
    this.queries = {
      learnerAt: db
        .select({ learnerId: addresses.learnerId })
        .from(addresses)
        .where(and(eq(addresses.channel, sql.placeholder("channel")), eq(addresses.address, sql.placeholder("address"))))
        .prepare(),
      enrollmentOf: db
        .select()
        .from(enrollments)
        .where(and(eq(enrollments.learnerId, sql.placeholder("learnerId")), eq(enrollments.courseId, course.id)))
        .orderBy(desc(enrollments.id))
        .limit(1)
        .prepare(),
      enrollmentById: db.select().from(enrollments).where(eq(enrollments.id, sql.placeholder("id"))).prepare(),
      answersOf: db
        .select({ stepId: answers.stepId, optionId: answers.optionId, correct: answers.correct })
        .from(answers)
        .where(eq(answers.enrollmentId, sql.placeholder("enrollmentId")))
        .prepare(),
    };
  }

  /**
   * Runs the engine over one inbound message and commits the new state, the
   * events and the replies in one transaction. A redelivered update is skipped.
   */
  processInbound(message: InboundMessage, run: EngineRun): ProcessedInbound {
    return this.db.transaction((tx) => {
      if (message.updateId !== null) {
        const inserted = tx
          .insert(processedUpdates)
          .values({ channel: message.channel, updateId: message.updateId, at: message.now })
          .onConflictDoNothing()
          .run();
        if (inserted.changes === 0) {
          return { duplicate: true, result: null, enrollmentId: null, outboxIds: [] };
        }
      }
      const learnerId = this.findLearner(tx, message.channel, message.address);
      const enrollment = learnerId === null ? null : this.findEnrollment(tx, learnerId);
      const result = run(enrollment ? this.readState(tx, enrollment) : null);
      const enrollmentId = this.saveResult(tx, message, learnerId, enrollment?.id ?? null, result);
      const outboxIds = this.enqueue(tx, enrollmentId, message.channel, message.address, result.messages, "reply", message.now);
      return { duplicate: false, result, enrollmentId, outboxIds };
    });
  }

  /** Returns the state of a learner's enrollment at a channel address, or null. */
  stateAt(channel: Channel, address: string): EnrollmentState | null {
    const learnerId = this.findLearner(this.db, channel, address);
    const enrollment = learnerId === null ? null : this.findEnrollment(this.db, learnerId);
    return enrollment ? this.readState(this.db, enrollment) : null;
  }

  // The prepared queries run on the one SQLite connection, so inside a
  // transaction they see its writes like the transaction's own queries do.
  private findLearner(_tx: Db | Tx, channel: string, address: string): number | null {
    return this.queries.learnerAt.get({ channel, address })?.learnerId ?? null;
  }

  private findEnrollment(_tx: Db | Tx, learnerId: number): EnrollmentRow | null {
    return this.queries.enrollmentOf.get({ learnerId }) ?? null;
  }

  private readState(_tx: Db | Tx, row: EnrollmentRow): EnrollmentState {
    const answerRows = this.queries.answersOf.all({ enrollmentId: row.id });
    const state: EnrollmentState = {
      language: row.language,
      role: row.role,
      stage: row.stage as EnrollmentState["stage"],
      position: row.position,
      part: row.part,
      phase: row.phase as EnrollmentState["phase"],
      menu: row.menu as EnrollmentState["menu"],
      prompt: row.prompt,
      answers: {},
      skipped: JSON.parse(row.skipped) as string[],
      pace: row.pace as EnrollmentState["pace"],
      hour: row.hour,
      timeZone: row.timeZone,
      paused: row.paused,
      stopped: row.stopped,
      dormant: row.dormant,
      nextReleaseAt: row.nextReleaseAt,
      lastReleaseAt: row.lastReleaseAt,
      remindersSent: row.remindersSent,
      idleSince: row.idleSince,
    };
    for (const answer of answerRows) {
      state.answers[answer.stepId] = { optionId: answer.optionId, correct: answer.correct };
    }
    return state;
  }

  private saveResult(
    tx: Tx,
    message: InboundMessage,
    knownLearnerId: number | null,
    knownEnrollmentId: number | null,
    result: EngineResult,
  ): number {
    const columns = {
      ...stateColumns(result.state, message.now),
      lastActivityAt: message.now,
      lastChannel: message.channel,
      lastAddress: message.address,
    };

    let enrollmentId = knownEnrollmentId;
    if (enrollmentId === null) {
      const learnerId =
        knownLearnerId ?? tx.insert(learners).values({ createdAt: message.now }).returning({ id: learners.id }).get().id;
      if (knownLearnerId === null) {
        tx.insert(addresses).values({ learnerId, channel: message.channel, address: message.address, createdAt: message.now }).run();
      }
      enrollmentId = tx
        .insert(enrollments)
        .values({ learnerId, courseId: this.course.id, courseVersion: this.course.version, createdAt: message.now, ...columns })
        .returning({ id: enrollments.id })
        .get().id;
    } else {
      tx.update(enrollments).set(columns).where(eq(enrollments.id, enrollmentId)).run();
    }
    this.recordEvents(tx, enrollmentId, result.state.language ?? this.course.sourceLanguage, result.events, message.now, message.channel, message.address);
    return enrollmentId;
  }

  /**
   * Runs the engine for enrollments that the scheduler found due, in one
   * transaction, and queues the replies on the bulk lane to the address each
   * learner last wrote from. Returns the number of messages queued.
   */
  processScheduled(enrollmentIds: number[], run: (state: EnrollmentState) => EngineResult, now: number): number {
    return this.db.transaction((tx) => {
      let queued = 0;
      for (const id of enrollmentIds) {
        const row = this.queries.enrollmentById.get({ id });
        if (!row || !row.lastChannel || !row.lastAddress) continue;
        const result = run(this.readState(tx, row));
        if (result.events.length === 0 && result.messages.length === 0) continue;
        tx.update(enrollments).set(stateColumns(result.state, now)).where(eq(enrollments.id, id)).run();
        this.recordEvents(tx, id, result.state.language ?? this.course.sourceLanguage, result.events, now, row.lastChannel, row.lastAddress);
        queued += this.enqueue(tx, id, row.lastChannel, row.lastAddress, result.messages, "bulk", now).length;
      }
      return queued;
    });
  }

  /** Returns enrollments whose held lesson is due, with what quiet hours need. */
  dueReleases(now: number, limit: number): ScheduledCandidate[] {
    return this.candidates(and(eq(enrollments.phase, "waiting"), lte(enrollments.nextReleaseAt, now)), limit);
  }

  /** Returns enrollments silent since before `idleBefore` that have had exactly `remindersSent` reminders. */
  idleEnrollments(idleBefore: number, remindersSent: number, limit: number): ScheduledCandidate[] {
    return this.candidates(
      and(lte(enrollments.idleSince, idleBefore), ne(enrollments.phase, "waiting"), eq(enrollments.remindersSent, remindersSent)),
      limit,
    );
  }

  /** Selects enrollments in the course that may get unasked messages and match `condition`. */
  private candidates(condition: SQL | undefined, limit: number): ScheduledCandidate[] {
    return this.db
      .select({ id: enrollments.id, timeZone: enrollments.timeZone, remindersSent: enrollments.remindersSent, idleSince: enrollments.idleSince })
      .from(enrollments)
      .where(and(
        condition,
        eq(enrollments.stage, "course"),
        eq(enrollments.paused, false),
        eq(enrollments.stopped, false),
        eq(enrollments.dormant, false),
      ))
      .orderBy(asc(enrollments.id))
      .limit(limit)
      .all();
  }

  /**
   * Stops all sends to a learner the platform reports unreachable (blocked
   * the bot, deactivated): their enrollments are marked stopped until they
   * write /start again, and their pending messages are cancelled.
   */
  markUnreachable(channel: string, address: string, now: number): void {
    this.db.transaction((tx) => {
      const learnerId = this.findLearner(tx, channel, address);
      if (learnerId === null) return;
      const rows = tx.select({ id: enrollments.id }).from(enrollments).where(eq(enrollments.learnerId, learnerId)).all();
      for (const { id } of rows) {
        tx.update(enrollments).set({ stopped: true, updatedAt: now }).where(eq(enrollments.id, id)).run();
        tx.insert(events).values({ enrollmentId: id, type: "sends_stopped", data: JSON.stringify({ reason: "unreachable", channel }), at: now }).run();
      }
      tx.update(outbox).set({ status: "cancelled", error: "learner unreachable" })
        .where(and(eq(outbox.channel, channel), eq(outbox.address, address), eq(outbox.status, "pending")))
        .run();
    });
  }

  private recordEvents(tx: Tx, enrollmentId: number, language: string, list: EngineEvent[], now: number, channel: string, address: string): void {
    for (const event of list) {
      const { type, ...data } = event;
      if (event.type === "reflection_saved") {
        tx.insert(reflections).values({ enrollmentId, stepId: event.stepId, language, text: event.text, createdAt: now }).run();
        // The text is stored in reflections only, so that the event log contains no free text.
        delete (data as { text?: string }).text;
      }
      if (event.type === "sends_stopped") {
        // Runs before this turn's replies are queued, so the confirmation still goes out.
        tx.update(outbox).set({ status: "cancelled", error: "learner sent STOP" })
          .where(and(eq(outbox.enrollmentId, enrollmentId), eq(outbox.status, "pending")))
          .run();
      }
      if (event.type === "comment_left") {
        tx.insert(comments)
          .values({ stepId: event.stepId, language, courseVersion: this.course.version, text: event.text, channel, address, createdAt: now })
          .run();
        delete (data as { text?: string }).text;
      }
      if (event.type === "answer_graded" || event.type === "decision_made") {
        tx.insert(answers)
          .values({
            enrollmentId,
            stepId: event.stepId,
            optionId: event.optionId,
            correct: event.type === "answer_graded" ? event.correct : false,
            kind: event.type === "answer_graded" ? "quiz" : "scenario",
            language,
            answeredAt: now,
          })
          .onConflictDoNothing()
          .run();
      }
      tx.insert(events).values({ enrollmentId, type, data: JSON.stringify(data), at: now }).run();
    }
  }

  /** Adds messages to the outbox for one address; returns the new row ids. */
  enqueue(
    tx: Db | Tx,
    enrollmentId: number | null,
    channel: string,
    address: string,
    messages: Outbound[],
    lane: Lane,
    now: number,
  ): number[] {
    if (messages.length === 0) return [];
    const rows = messages.map((message) => ({
      enrollmentId,
      channel,
      address,
      payload: JSON.stringify(message),
      lane,
      notBefore: now,
      createdAt: now,
    }));
    return tx.insert(outbox).values(rows).returning({ id: outbox.id }).all().map((row) => row.id);
  }

  /** Returns outbox rows of one address after an id, oldest first, for the browser chat. */
  outboxAfter(channel: string, address: string, afterId: number): OutboxRow[] {
    return this.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.channel, channel), eq(outbox.address, address), gt(outbox.id, afterId), ne(outbox.status, "cancelled")))
      .orderBy(asc(outbox.id))
      .all()
      .map(toOutboxRow);
  }

  /**
   * Returns, for each chat and lane of a channel, its oldest unsent row when
   * that row is due: replies first, then by id. A chat whose oldest row is
   * waiting (a retry, a 429) or in flight gets nothing from that lane, which
   * keeps each chat's messages in order.
   */
  nextPerChat(channel: string, now: number, limit: number): OutboxRow[] {
    const oldest = this.db
      .select({ id: sql<number>`min(${outbox.id})`.as("oldest_id") })
      .from(outbox)
      .where(and(eq(outbox.channel, channel), inArray(outbox.status, ["pending", "sending"])))
      .groupBy(outbox.address, outbox.lane)
      .as("oldest");
    return this.db
      .select()
      .from(outbox)
      .innerJoin(oldest, eq(outbox.id, oldest.id))
      .where(and(eq(outbox.status, "pending"), lte(outbox.notBefore, now)))
      .orderBy(sql`case ${outbox.lane} when 'reply' then 0 else 1 end`, asc(outbox.id))
      .limit(limit)
      .all()
      .map((row) => toOutboxRow(row.outbox));
  }

  /** Marks rows as being sent, so that a second dispatcher pass skips them. */
  markSending(ids: number[]): void {
    if (ids.length === 0) return;
    this.db.update(outbox).set({ status: "sending", attempts: sql`${outbox.attempts} + 1` }).where(inArray(outbox.id, ids)).run();
  }

  markSent(id: number, now: number, platformMessageId: string | null): void {
    this.db.update(outbox).set({ status: "sent", sentAt: now, platformMessageId, error: null }).where(eq(outbox.id, id)).run();
  }

  /** Puts a row back to pending, to be tried again at `notBefore`. */
  markRetry(id: number, notBefore: number, error: string): void {
    this.db.update(outbox).set({ status: "pending", notBefore, error }).where(eq(outbox.id, id)).run();
  }

  /** Puts a row back after a 429; the attempt is not counted because the platform never took it. */
  markRateLimited(id: number, notBefore: number, error: string): void {
    this.db
      .update(outbox)
      .set({ status: "pending", notBefore, error, attempts: sql`max(${outbox.attempts} - 1, 0)` })
      .where(eq(outbox.id, id))
      .run();
  }

  markFailed(id: number, error: string): void {
    this.db.update(outbox).set({ status: "failed", error }).where(eq(outbox.id, id)).run();
  }

  /** Returns rows left in `sending` by a crash to pending; returns how many. */
  recoverInFlight(): number {
    return this.db.update(outbox).set({ status: "pending" }).where(eq(outbox.status, "sending")).run().changes;
  }
}

/** An enrollment the scheduler may act on. */
export interface ScheduledCandidate {
  id: number;
  timeZone: string | null;
  remindersSent: number;
  idleSince: number | null;
}

/** Maps the engine's state to enrollment columns. */
function stateColumns(state: EnrollmentState, now: number) {
  return {
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
    timeZone: state.timeZone,
    paused: state.paused,
    stopped: state.stopped,
    dormant: state.dormant,
    nextReleaseAt: state.nextReleaseAt,
    lastReleaseAt: state.lastReleaseAt,
    remindersSent: state.remindersSent,
    idleSince: state.idleSince,
    updatedAt: now,
    ...(state.stage === "finished" ? { completedAt: now } : {}),
  };
}

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
type EnrollmentRow = typeof enrollments.$inferSelect;

function toOutboxRow(row: typeof outbox.$inferSelect): OutboxRow {
  return {
    id: row.id,
    enrollmentId: row.enrollmentId,
    channel: row.channel,
    address: row.address,
    message: JSON.parse(row.payload) as Outbound,
    lane: row.lane as Lane,
    status: row.status,
    attempts: row.attempts,
    notBefore: row.notBefore,
    createdAt: row.createdAt,
  };
}
