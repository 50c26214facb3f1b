import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino, { type Logger } from "pino";
import { createApp, type App } from "../src/app.js";
import { configSchema } from "../src/config.js";

/** The project root, so that the benchmark finds the course wherever it is started from. */
export const projectRoot = resolve(import.meta.dirname, "..");

/** Figures of one case by name, from which the report picks the ones it shows. */
export type Figures = Record<string, number>;

/** Result of one case, which its child process writes to a JSON file. */
export interface CaseResult {
  name: string;
  figures: Figures;
  /** Highest `process.memoryUsage().rss` seen by the sampler, in bytes. */
  sampledPeakRssBytes: number;
  /** `process.resourceUsage().maxRSS` at the end of the case, in bytes. */
  maxRssBytes: number;
  /** CPU time of the whole child process, in ms. */
  userCpuMs: number;
  systemCpuMs: number;
}

/**
 * Keeps the highest resident set size seen. A timer samples it while the
 * event loop is free, and synchronous loops call `sample()` themselves,
 * since a timer cannot fire inside them.
 */
export class RssSampler {
  peakBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    this.peakBytes = Math.max(this.peakBytes, process.memoryUsage.rss());
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

/** Builds the case result, with the memory and CPU counters of this process. */
export function finishCase(name: string, figures: Figures, sampler: RssSampler): CaseResult {
  sampler.stop();
  const usage = process.resourceUsage();
  return {
    name,
    figures,
    sampledPeakRssBytes: sampler.peakBytes,
    // maxRSS is in kibibytes (getrusage's ru_maxrss on Linux).
    maxRssBytes: usage.maxRSS * 1024,
    userCpuMs: usage.userCPUTime / 1000,
    systemCpuMs: usage.systemCPUTime / 1000,
  };
}

/** Makes a temporary folder for one case's SQLite file. */
export function caseFolder(name: string): string {
  return mkdtempSync(join(tmpdir(), `waypoints-bench-${name}-`));
}

/**
 * Builds the service through its composition root with the shipped course,
 * without the browser chat and the scheduler's timer. `settings` are
 * environment-style strings, as configSchema reads them.
 */
export async function createBenchApp(
  settings: Record<string, string>,
  options: { now?: () => number; logger?: Logger } = {},
): Promise<App> {
  const config = configSchema.parse({
    CONTENT_DIR: join(projectRoot, "content"),
    LOCALES_DIR: join(projectRoot, "locales"),
    LOG_LEVEL: "silent",
    WEB_CHAT_ENABLED: "false",
    SCHEDULER_ENABLED: "false",
    ...settings,
  });
  return createApp(config, { logger: options.logger ?? pino({ level: "silent" }), ...(options.now ? { now: options.now } : {}) });
}

/** Reads a positive whole number from the environment, or returns the default. */
export function countFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name}=${JSON.stringify(raw)} is invalid: expected a whole number of 1 or more`);
  }
  return value;
}

/** Returns the median of a list of numbers, or NaN for an empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
