import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Times are Unix milliseconds, stored as integers. */
const createdAt = () => integer("created_at").notNull().default(sql`(unixepoch('subsec') * 1000)`);

/** One person, whatever channels they use. */
export const learners = sqliteTable("learners", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  createdAt: createdAt(),
});

/** A learner's address on one channel: a Telegram chat id, a WhatsApp id, a browser session. */
export const addresses = sqliteTable(
  "addresses",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    learnerId: integer("learner_id").notNull().references(() => learners.id, { onDelete: "cascade" }),
    channel: text("channel").notNull(),
    address: text("address").notNull(),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex("addresses_channel_address").on(table.channel, table.address)],
);

/** A learner's run through one version of the course. */
export const enrollments = sqliteTable(
  "enrollments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    learnerId: integer("learner_id").notNull().references(() => learners.id, { onDelete: "cascade" }),
    courseId: text("course_id").notNull(),
    courseVersion: text("course_version").notNull(),
    language: text("language"),
    role: text("role"),
    stage: text("stage").notNull(),
    position: integer("position").notNull().default(0),
    part: integer("part").notNull().default(0),
    phase: text("phase").notNull(),
    menu: text("menu"),
    prompt: integer("prompt").notNull().default(1),
    /** JSON array of skipped scenario step ids. */
    skipped: text("skipped").notNull().default("[]"),
    lastActivityAt: integer("last_activity_at"),
    /** `daily`, `twice-daily`, `weekly` or `self`. */
    pace: text("pace"),
    hour: integer("hour"),
    timeZone: text("time_zone"),
    paused: integer("paused", { mode: "boolean" }).notNull().default(false),
    stopped: integer("stopped", { mode: "boolean" }).notNull().default(false),
    dormant: integer("dormant", { mode: "boolean" }).notNull().default(false),
    nextReleaseAt: integer("next_release_at"),
    lastReleaseAt: integer("last_release_at"),
    remindersSent: integer("reminders_sent").notNull().default(0),
    idleSince: integer("idle_since"),
    /** Channel and address the learner last wrote from, where releases and reminders go. */
    lastChannel: text("last_channel"),
    lastAddress: text("last_address"),
    completedAt: integer("completed_at"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [
    index("enrollments_learner").on(table.learnerId),
    index("enrollments_release").on(table.phase, table.nextReleaseAt),
    index("enrollments_idle").on(table.stage, table.idleSince),
  ],
);

/** The first answer to each quiz question or scenario decision. */
export const answers = sqliteTable(
  "answers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    enrollmentId: integer("enrollment_id").notNull().references(() => enrollments.id, { onDelete: "cascade" }),
    stepId: text("step_id").notNull(),
    optionId: text("option_id").notNull(),
    /** 1 for a right quiz answer; scenario decisions store 0. */
    correct: integer("correct", { mode: "boolean" }).notNull(),
    kind: text("kind").notNull(),
    language: text("language").notNull(),
    answeredAt: integer("answered_at").notNull(),
  },
  (table) => [uniqueIndex("answers_enrollment_step").on(table.enrollmentId, table.stepId)],
);

/** Free-text reflections. Learners are asked not to identify real children in them. */
export const reflections = sqliteTable("reflections", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  enrollmentId: integer("enrollment_id").notNull().references(() => enrollments.id, { onDelete: "cascade" }),
  stepId: text("step_id").notNull(),
  language: text("language").notNull(),
  text: text("text").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** Events the engine reported, in order. */
export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    enrollmentId: integer("enrollment_id").references(() => enrollments.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    /** JSON object with the event's fields other than its type. */
    data: text("data").notNull(),
    at: integer("at").notNull(),
  },
  (table) => [index("events_enrollment").on(table.enrollmentId), index("events_type").on(table.type)],
);

/** Platform update ids already handled, so that a redelivered update is processed once. */
export const processedUpdates = sqliteTable(
  "processed_updates",
  {
    channel: text("channel").notNull(),
    updateId: text("update_id").notNull(),
    at: integer("at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.channel, table.updateId] })],
);

/**
 * Messages to send. A row is written in the same transaction as the state
 * change that causes it; the dispatcher sends it and records the outcome.
 */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    enrollmentId: integer("enrollment_id").references(() => enrollments.id, { onDelete: "set null" }),
    channel: text("channel").notNull(),
    address: text("address").notNull(),
    /** JSON of the channel-neutral message. */
    payload: text("payload").notNull(),
    /** `reply` for replies to a learner who is waiting, `bulk` for releases, reminders and broadcasts. */
    lane: text("lane").notNull().default("reply"),
    /** `pending`, `sending`, `sent`, `failed` or `cancelled`. */
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    notBefore: integer("not_before").notNull(),
    error: text("error"),
    platformMessageId: text("platform_message_id"),
    createdAt: integer("created_at").notNull(),
    sentAt: integer("sent_at"),
  },
  (table) => [
    index("outbox_status_channel").on(table.status, table.channel, table.notBefore),
    index("outbox_address").on(table.channel, table.address, table.status),
    // The dispatcher's oldest-row-per-chat query reads only unsent rows through this one.
    index("outbox_unsent").on(table.channel, table.status, table.address, table.lane),
  ],
);

/** Reviewers' comments on steps, left from the browser chat. */
export const comments = sqliteTable("comments", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  stepId: text("step_id").notNull(),
  language: text("language").notNull(),
  courseVersion: text("course_version").notNull(),
  text: text("text").notNull(),
  channel: text("channel").notNull(),
  address: text("address").notNull(),
  createdAt: integer("created_at").notNull(),
});
