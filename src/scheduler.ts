import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import { handleInbound } from "./engine/engine.js";
import { isQuietAt } from "./engine/schedule.js";
import type { EngineContext, Inbound } from "./engine/types.js";
import type { ScheduledCandidate, Store } from "./store.js";

const dayMs = 24 * 60 * 60 * 1000;

/** Enrollments read and committed per transaction. */
const batchSize = 500;

export interface TickResult {
  released: number;
  reminded: number;
  /** Due learners left for a later tick because it is quiet hours where they are. */
  deferred: number;
  /** Messages queued on the bulk lane. */
  queued: number;
}

export interface SchedulerOptions {
  store: Store;
  context: EngineContext;
  logger: Logger;
  now?: () => number;
  /** Called after a tick queued messages, to wake the dispatcher. */
  onQueued?: () => void;
}

/**
 * Releases held lessons and sends reminders once a minute, in each learner's
 * own time zone and outside quiet hours. Both go through the engine, like
 * any other input, and their messages go out on the bulk lane.
 */
export class Scheduler {
  private task: ScheduledTask | null = null;
  private readonly now: () => number;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.task = cron.schedule("* * * * *", async () => {
      try {
        await this.tick(this.now());
      } catch (error) {
        this.options.logger.error({ err: error }, "scheduler tick failed");
      }
    }, { name: "waypoints-scheduler", noOverlap: true });
  }

  stop(): void {
    this.task?.destroy();
    this.task = null;
  }

  /**
   * Runs one pass at `now`; safe to call at any time, since only due work is
   * done. It yields to the event loop between batches, so that replies to
   * learners keep flowing during a large release.
   */
  async tick(now: number): Promise<TickResult> {
    const result: TickResult = { released: 0, reminded: 0, deferred: 0, queued: 0 };
    const { store, context } = this.options;

    const releases = store.dueReleases(now, Number.MAX_SAFE_INTEGER);
    await this.run(releases, { type: "release" }, now, result, "released");

    for (const [sent, days] of context.schedule.reminderDays.entries()) {
      const idle = store.idleEnrollments(now - days * dayMs, sent, Number.MAX_SAFE_INTEGER);
      await this.run(idle, { type: "remind" }, now, result, "reminded");
    }

    if (result.queued > 0) this.options.onQueued?.();
    if (result.released + result.reminded + result.deferred > 0) {
      this.options.logger.info(result, "scheduler tick");
    }
    return result;
  }

  private async run(candidates: ScheduledCandidate[], inbound: Inbound, now: number, result: TickResult, counter: "released" | "reminded"): Promise<void> {
    const { store, context } = this.options;
    const awake = candidates.filter((candidate) => !isQuietAt(now, candidate.timeZone ?? "Etc/UTC", context.schedule));
    result.deferred += candidates.length - awake.length;
    for (let index = 0; index < awake.length; index += batchSize) {
      const ids = awake.slice(index, index + batchSize).map((candidate) => candidate.id);
      result.queued += store.processScheduled(ids, (state) => handleInbound(state, inbound, context, now), now);
      result[counter] += ids.length;
      this.options.onQueued?.();
      await yieldToEventLoop();
    }
  }
}
