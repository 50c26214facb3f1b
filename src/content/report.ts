import type { Course } from "./model.js";
import { moduleStats } from "./text-stats.js";

/** Renders a plain-text table per language: steps, words and estimated minutes per module. */
export function renderCourseTable(course: Course): string {
  const sections: string[] = [];
  for (const language of course.languages) {
    const rows = moduleStats(course, language).map((stats) => [
      stats.moduleId,
      String(stats.steps),
      String(stats.words),
      String(Math.ceil(stats.minutes)),
      String(stats.minutesPerWeek),
    ]);
    const totals = rows.reduce(
      (sum, row) => sum.map((value, index) => (index === 0 ? value : value + Number(row[index]))),
      [0, 0, 0, 0, 0],
    );
    rows.push(["total", ...totals.slice(1).map(String)]);
    sections.push(`${language}: ${course.modules.length} modules\n${table(
      ["module", "steps", "words", "minutes", "stated"],
      rows,
    )}`);
  }
  return sections.join("\n\n");
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? "").length)));
  return all
    .map((row) => row.map((cell, column) => column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)).join("  "))
    .join("\n");
}
