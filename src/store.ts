import { and, asc, desc, eq, gt, inArray, lte, ne, sql } from "drizzle-orm";
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
  constructor(
    readonly db: Db,
    private readonly course: Course,
  ) {}

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

  private findLearner(tx: Db | Tx, channel: string, address: string): number | null {
    const row = tx
      .select({ learnerId: addresses.learnerId })
      .from(addresses)
      .where(and(eq(addresses.channel, channel), eq(addresses.address, address)))
      .get();
    return row?.learnerId ?? null;
  }

  private findEnrollment(tx: Db | Tx, learnerId: number): EnrollmentRow | null {
    return (
      tx
        .select()
        .from(enrollments)
        .where(and(eq(enrollments.learnerId, learnerId), eq(enrollments.courseId, this.course.id)))
        .orderBy(desc(enrollments.id))
        .limit(1)
        .get() ?? null
    );
  }

  private readState(tx: Db | Tx, row: EnrollmentRow): EnrollmentState {
    const answerRows = tx.select().from(answers).where(eq(answers.enrollmentId, row.id)).all();
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
    const { state } = result;
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
      lastActivityAt: message.now,
      updatedAt: message.now,
      ...(state.stage === "finished" ? { completedAt: message.now } : {}),
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
    this.recordEvents(tx, enrollmentId, state.language ?? this.course.sourceLanguage, result.events, message.now, message.channel, message.address);
    return enrollmentId;
  }

  private recordEvents(tx: Tx, enrollmentId: number, language: string, list: EngineEvent[], now: number, channel: string, address: string): void {
    for (const event of list) {
      const { type, ...data } = event;
      if (event.type === "reflection_saved") {
        tx.insert(reflections).values({ enrollmentId, stepId: event.stepId, language, text: event.text, createdAt: now }).run();
        // The text lives in reflections only, so that the event log holds no free text.
        delete (data as { text?: string }).text;
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

  /** Returns due pending rows of a channel: replies first, then by id, which keeps each chat in order. */
  duePending(channel: string, now: number, limit: number): OutboxRow[] {
    return this.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.channel, channel), eq(outbox.status, "pending"), lte(outbox.notBefore, now)))
      .orderBy(sql`case ${outbox.lane} when 'reply' then 0 else 1 end`, asc(outbox.id))
      .limit(limit)
      .all()
      .map(toOutboxRow);
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
