import { resolve } from "node:path";
import { loadCourse } from "../content/load.js";
import { renderCourseTable } from "../content/report.js";
import { formatProblem } from "../content/yaml-source.js";

/** Validates the course in CONTENT_DIR (default content/) and prints problems and a summary. */
const contentDir = resolve(process.env.CONTENT_DIR ?? "content");
const result = loadCourse(contentDir);
const errors = result.problems.filter((problem) => problem.severity === "error");
const warnings = result.problems.length - errors.length;

for (const problem of result.problems) console.log(formatProblem(problem));
if (result.problems.length > 0) console.log("");
if (result.partial) console.log(renderCourseTable(result.partial) + "\n");
console.log(`${errors.length} errors, ${warnings} warnings`);
process.exitCode = errors.length > 0 ? 1 : 0;
