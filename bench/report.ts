import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import Database from "better-sqlite3";
import { projectRoot, type CaseResult, type Figures } from "./measure.js";

/** The machine the benchmarks ran on. */
export interface Machine {
  cpuModel: string;
  /** Processors available to the process, as `nproc` prints. */
  cpus: number;
  memoryBytes: number;
  node: string;
  sqlite: string;
  betterSqlite3: string;
}

/** Reads the CPU model, the processor count, the memory size and the Node.js and SQLite versions. */
export function machineInfo(): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown (no model name in /proc/cpuinfo)";
  const memory = new Database(":memory:");
  const sqlite = (memory.prepare("select sqlite_version() as version").get() as { version: string }).version;
  memory.close();
  const packageFile = new URL("../node_modules/better-sqlite3/package.json", import.meta.url);
  const betterSqlite3 = (JSON.parse(readFileSync(packageFile, "utf8")) as { version: string }).version;
  return { cpuModel, cpus: availableParallelism(), memoryBytes: totalmem(), node: process.version, sqlite, betterSqlite3 };
}

/** Paths whose code or data the figures depend on. The bulk case runs the Bot API stand-in from test/support. */
const measuredPaths = ["src", "flows", "content", "locales", "migrations", "bench", "test/support", "package-lock.json"];

/**
 * Describes the code that ran: the git commit, and the measured paths that
 * differ from it. Returns "unknown" outside a git work tree.
 */
export function sourceInfo(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: projectRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trimEnd();
    const commit = git("rev-parse", "--short", "HEAD");
    const changed = new Set(
      git("status", "--porcelain", "--", ...measuredPaths)
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => line.slice(3).replace(/\/$/, "")),
    );
    return changed.size === 0 ? `commit ${commit}` : `commit ${commit} with uncommitted changes in ${[...changed].sort().join(", ")}`;
  } catch {
    return "unknown (not a git work tree)";
  }
}

export interface Report {
  startedAt: Date;
  finishedAt: Date;
  source: string;
  machine: Machine;
  results: CaseResult[];
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });

function whole(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "n/a" : integer.format(value);
}

function oneDecimal(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "n/a" : decimal.format(value);
}

function mebibytes(bytes: number): string {
  return `${integer.format(bytes / 2 ** 20)} MiB`;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "n/a" : `${decimal.format(ms / 1000)} s`;
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

function figuresOf(results: CaseResult[], name: string): Figures {
  const result = results.find((candidate) => candidate.name === name);
  if (!result) throw new Error(`no result for case ${name}`);
  return result.figures;
}

/** Lists the tables whose row counts differ between the two cases, or returns an empty list. */
function rowMismatches(engine: Figures, floor: Figures): string[] {
  return Object.keys(engine)
    .filter((key) => key.startsWith("rows.") && engine[key] !== floor[key])
    .map((key) => `${key.slice(5)}: ${engine[key]} against ${floor[key]}`);
}

function engineSection(results: CaseResult[]): string {
  const engine = figuresOf(results, "engine");
  const floor = figuresOf(results, "floor");
  const inputs = engine.inputs ?? 0;
  const perInput = (rate: number | undefined) => oneDecimal(rate ? 1_000_000 / rate : undefined);
  const ratio = (floor.inputsPerSecond ?? 0) / (engine.inputsPerSecond ?? 1);
  const microseconds = (rate: number | undefined) => (rate ? 1_000_000 / rate : Number.NaN);
  const remainder = oneDecimal(
    microseconds(engine.inputsPerSecond) - microseconds(floor.engineOnlyInputsPerSecond) - microseconds(floor.inputsPerSecond),
  );
  const rowTables = Object.keys(engine).filter((key) => key.startsWith("rows."));
  const mismatches = rowMismatches(engine, floor);
  return [
    "## a) Learner inputs through the engine and SQLite",
    "",
    `${whole(engine.learners)} learners each send /start, onboard (language, consent, role, own pace, time zone) and walk module 1 ` +
      "of the shipped course to its summary: Next on lessons, the first option of each question and a typed reflection. " +
      "They take turns, one input each per round, with a fixed clock. " +
      "Each input is one `Store.processInbound` call on a temporary SQLite file in WAL mode, with a Telegram update id, " +
      "so each is one committed transaction, as in the service.",
    "",
    "The floor runs the same inputs through the engine first, untimed. It then writes the same rows with plain " +
      "better-sqlite3 prepared statements, one transaction per input. Those rows are the update id, the learner, the address " +
      "and the enrollment (inserted on the first input and updated on every later one), and the events, answers, reflections " +
      "and outbox rows. The floor does none of processInbound's reads and no Drizzle query building.",
    "",
    table(
      ["path", "inputs", "time", "inputs/s", "µs per input"],
      [
        ["`Store.processInbound` (engine, Drizzle, SQLite commit)", whole(inputs), seconds(engine.elapsedMs), whole(engine.inputsPerSecond), perInput(engine.inputsPerSecond)],
        ["floor: plain better-sqlite3 transactions, same rows", whole(floor.inputs), seconds(floor.elapsedMs), whole(floor.inputsPerSecond), perInput(floor.inputsPerSecond)],
        ["engine alone (`handleInbound`, no database)", whole(floor.inputs), seconds(floor.engineOnlyMs), whole(floor.engineOnlyInputsPerSecond), perInput(floor.engineOnlyInputsPerSecond)],
      ],
    ),
    "",
    `Ratio: the floor writes ${oneDecimal(ratio)} times as many inputs per second as \`Store.processInbound\`. ` +
      `Of processInbound's ${perInput(engine.inputsPerSecond)} µs per input, the engine alone takes ${perInput(floor.engineOnlyInputsPerSecond)} µs ` +
      `and the floor's writes ${perInput(floor.inputsPerSecond)} µs. The remaining ${remainder} µs estimates the cost of processInbound's ` +
      "reads and of Drizzle's query building and statement preparation.",
    "",
    "Rows written, which both paths must match:",
    "",
    table(
      ["table", "rows (processInbound)", "rows (floor)", "per input"],
      rowTables.map((key) => [key.slice(5), whole(engine[key]), whole(floor[key]), inputs ? (engine[key]! / inputs).toFixed(2) : "n/a"]),
    ),
    "",
    mismatches.length === 0 ? "The row counts match." : `**The row counts differ**, so the floor is not comparable: ${mismatches.join("; ")}.`,
  ].join("\n");
}

function schedulerSection(results: CaseResult[]): string {
  const figures = figuresOf(results, "scheduler");
  const perRelease = figures.released ? oneDecimal((figures.tickMs ?? 0) / figures.released) : "n/a";
  return [
    "## b) One scheduler tick",
    "",
    `${whole(figures.enrollments)} enrollments are written with SQL into a temporary SQLite file, with their learners, ` +
      "addresses and answers. Each is a copy of one learner's state after the engine held their next daily lesson " +
      "(stage `course`, phase `waiting`, last channel Telegram). Every tenth has `next_release_at` an hour before the tick, " +
      "the others 22 hours after it. Time zones alternate between Etc/UTC, Europe/Madrid, Africa/Nairobi, America/Sao_Paulo and " +
      "Asia/Kolkata, all outside the default quiet hours (21:00 to 08:00) at the tick's instant, Tuesday 10 March 2026, 12:00 UTC. " +
      "`Scheduler.tick` runs once and is awaited. A second tick a minute later finds nothing due.",
    "",
    table(
      ["enrollments", "due", "released", "messages queued", "outbox rows", "tick time", "ms per release", "longest event-loop delay", "next tick (nothing due)"],
      [[
        whole(figures.enrollments),
        whole(figures.due),
        whole(figures.released),
        whole(figures.queued),
        whole(figures.outboxRows),
        seconds(figures.tickMs),
        perRelease,
        `${whole(figures.longestLoopDelayMs)} ms`,
        `${oneDecimal(figures.idleTickMs)} ms`,
      ]],
    ),
    "",
    `Seeding took ${seconds(figures.seedMs)} and is not part of the tick time. ` +
      "The longest event-loop delay is the maximum of `monitorEventLoopDelay` (10 ms resolution) during the tick: " +
      "the longest stretch in which the process could serve no other request, such as a learner's message or a send.",
  ].join("\n");
}

function bulkSection(results: CaseResult[]): string {
  const figures = figuresOf(results, "bulk");
  const logLines = Object.keys(figures).filter((key) => key.startsWith("log."));
  const statusLines = Object.keys(figures).filter((key) => key.startsWith("rows."));
  return [
    "## c) Bulk send at Telegram's limits",
    "",
    `${whole(figures.recipients)} bulk outbox rows, one lesson message each (${whole(figures.messageCharacters)} characters of module 1 with a Next button), ` +
      `go to ${whole(figures.recipients)} distinct chats that the Bot API stand-in (test/support/bot-api-stand-in.ts) marks as started. ` +
      "The stand-in enforces Telegram's limits with `limits: {}`: 1 message a second per chat with bursts of 3, " +
      "30 a second for the bot, and 429 with `retry_after` past them. The app runs with TELEGRAM_CHAT_INTERVAL_MS=1000 and " +
      "TELEGRAM_GLOBAL_PER_SECOND=30, long polling, both on 127.0.0.1 in one process. " +
      "The time runs from the call of `app.listen()`, which registers the bot's commands and starts the dispatcher, " +
      "to the stand-in's acceptance of the last bulk message. " +
      "The floor is recipients / 30 a second, Telegram's bot-wide limit. The dispatcher keeps a sixth of the channel's rate " +
      "for replies by default (`replyReserve` in src/dispatcher.ts), so bulk messages alone go out at most 25 a second: " +
      `the bulk-lane floor is recipients / 25 a second. During the send, ${whole(figures.learners)} other learners send /start at even ` +
      "intervals over the floor time. Each reply delay runs from the injection of the update into the stand-in to the " +
      "stand-in's acceptance of the bot's first message in that chat.",
    "",
    table(
      ["recipients", "floor (30/s)", "bulk-lane floor (25/s)", "total time", "ratio to floor", "messages/s", "sendMessage calls", "429 answers", "reply delay median", "reply delay max"],
      [[
        whole(figures.recipients),
        seconds(figures.floorMs),
        seconds(figures.bulkLaneFloorMs),
        seconds(figures.totalMs),
        figures.ratioToFloor === undefined ? "n/a" : figures.ratioToFloor.toFixed(2),
        oneDecimal(figures.messagesPerSecond),
        whole(figures.bulkSendCalls),
        whole(figures.tooManyRequests),
        `${oneDecimal(figures.replyDelayMedianMs)} ms`,
        `${oneDecimal(figures.replyDelayMaxMs)} ms`,
      ]],
    ),
    "",
    `Bulk rows at the end: ${statusLines.map((key) => `${whole(figures[key])} ${key.slice(5)}`).join(", ") || "none"}. ` +
      (logLines.length === 0
        ? "The app logged no warning or error."
        : `Warnings and errors the app logged: ${logLines.map((key) => `${key.slice(4)} (${whole(figures[key])})`).join(", ")}.`),
  ].join("\n");
}

function memorySection(results: CaseResult[]): string {
  const labels: Record<string, string> = {
    engine: "a) `Store.processInbound`",
    floor: "a) floor, with the engine's output held in memory",
    scheduler: "b) scheduler tick, with the seeding",
    bulk: "c) bulk send, with the stand-in in the same process",
  };
  return [
    "## d) Peak memory and CPU time of each case",
    "",
    "Each case runs in its own child process (`tsx bench/run.ts --case NAME`), so each peak is that case's own and " +
      "includes Node.js, tsx and the loaded course. The sampled peak is the highest `process.memoryUsage().rss` read every " +
      "50 ms (250 ms in the bulk case) and between batches of synchronous work. maxRSS is `process.resourceUsage().maxRSS` " +
      "at the end of the case.",
    "",
    table(
      ["case", "sampled peak RSS", "maxRSS", "user CPU", "system CPU"],
      results.map((result) => [
        labels[result.name] ?? result.name,
        mebibytes(result.sampledPeakRssBytes),
        mebibytes(result.maxRssBytes),
        seconds(result.userCpuMs),
        seconds(result.systemCpuMs),
      ]),
    ),
  ].join("\n");
}

/** Renders docs/benchmarks.md. */
export function renderReport(report: Report): string {
  const { machine, results } = report;
  const bulk = figuresOf(results, "bulk");
  return [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (bench/run.ts), which runs each case in its own child process and overwrites this page. " +
      `This run started ${report.startedAt.toISOString()} and took ${seconds(report.finishedAt.getTime() - report.startedAt.getTime())}, ` +
      `on ${report.source}.`,
    "",
    "Sizes come from the environment: BENCH_LEARNERS (default 1000), BENCH_ENROLLMENTS (default 100000) and " +
      `BENCH_RECIPIENTS (default 10000, so the bulk case takes at least 400 s). This run used ${whole(figuresOf(results, "engine").learners)}, ` +
      `${whole(figuresOf(results, "scheduler").enrollments)} and ${whole(bulk.recipients)}. ` +
      "Everything runs on this machine: SQLite files in the temporary folder and HTTP on 127.0.0.1 only. " +
      "To see where a case spends its time, run it under the profiler: " +
      "`node --cpu-prof --import tsx bench/run.ts --case engine`.",
    "",
    "## Machine",
    "",
    table(
      ["", ""],
      [
        ["CPU (/proc/cpuinfo)", machine.cpuModel],
        ["processors (`nproc`)", String(machine.cpus)],
        ["memory", mebibytes(machine.memoryBytes)],
        ["Node.js", machine.node],
        ["SQLite", `${machine.sqlite} (better-sqlite3 ${machine.betterSqlite3})`],
      ],
    ),
    "",
    engineSection(results),
    "",
    schedulerSection(results),
    "",
    bulkSection(results),
    "",
    memorySection(results),
    "",
  ].join("\n");
}
