/**
 * Runs the benchmarks and writes docs/benchmarks.md.
 *
 *   npm run bench                      every case, each in its own child process
 *   tsx bench/run.ts --case engine     one case, printing its result as JSON
 *
 * Sizes come from the environment: BENCH_LEARNERS (default 1000),
 * BENCH_ENROLLMENTS (default 100000) and BENCH_RECIPIENTS (default 10000).
 * The bulk case takes at least BENCH_RECIPIENTS / 25 seconds, the rate of
 * the dispatcher's bulk lane.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bulkCase } from "./bulk.js";
import { engineCase, floorCase } from "./engine.js";
import { projectRoot, type CaseResult } from "./measure.js";
import { machineInfo, renderReport, sourceInfo } from "./report.js";
import { schedulerCase } from "./scheduler.js";

const cases: Record<string, () => Promise<CaseResult>> = {
  engine: engineCase,
  floor: floorCase,
  scheduler: schedulerCase,
  bulk: bulkCase,
};

/** Runs one case in a child process, so that its memory peak is its own, and returns its result. */
async function runChild(name: string): Promise<CaseResult> {
  const folder = mkdtempSync(join(tmpdir(), "waypoints-bench-result-"));
  const resultFile = join(folder, "result.json");
  const child = spawn(process.execPath, ["--import", "tsx", join(projectRoot, "bench/run.ts"), "--case", name, "--out", resultFile], {
    cwd: projectRoot,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode) => resolve(exitCode));
  });
  if (code !== 0) throw new Error(`bench case ${name} failed with exit code ${code}: see its error above`);
  const result = JSON.parse(readFileSync(resultFile, "utf8")) as CaseResult;
  rmSync(folder, { recursive: true, force: true });
  return result;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const caseIndex = argv.indexOf("--case");
  if (caseIndex >= 0) {
    const name = argv[caseIndex + 1] ?? "";
    const run = cases[name];
    if (!run) throw new Error(`unknown case ${JSON.stringify(name)}: expected one of ${Object.keys(cases).join(", ")}`);
    const result = await run();
    const outIndex = argv.indexOf("--out");
    const out = outIndex >= 0 ? argv[outIndex + 1] : undefined;
    if (out) writeFileSync(out, JSON.stringify(result));
    else console.log(JSON.stringify(result, null, 2));
    return;
  }

  const startedAt = new Date();
  const source = sourceInfo();
  const results: CaseResult[] = [];
  for (const name of Object.keys(cases)) {
    console.error(`bench: running case ${name}`);
    const result = await runChild(name);
    console.error(`bench: case ${name} done: ${JSON.stringify(result.figures)}`);
    results.push(result);
  }
  const report = renderReport({ startedAt, finishedAt: new Date(), source, machine: machineInfo(), results });
  const file = join(projectRoot, "docs/benchmarks.md");
  writeFileSync(file, report);
  console.error(`bench: wrote ${file}`);
}

main().catch((error: unknown) => {
  console.error("bench failed:", error);
  process.exit(1);
});
