import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadCourse } from "../../src/content/load.js";
import type { Course } from "../../src/content/model.js";
import type { EngineContext } from "../../src/engine/types.js";
import { loadLocales } from "../../src/i18n.js";
import { roles } from "../../flows/roles.js";
import { defaultSchedule } from "../../src/engine/schedule.js";

export const projectRoot = resolve(import.meta.dirname, "../..");

/** Loads a course folder, failing with the checker's messages when it is invalid. */
export function loadValidCourse(contentDir: string): Course {
  const result = loadCourse(contentDir);
  if (!result.course) {
    const errors = result.problems.filter((problem) => problem.severity === "error");
    throw new Error(`invalid course in ${contentDir}:\n${errors.map((problem) => `${problem.file}:${problem.line}: ${problem.message}`).join("\n")}`);
  }
  return result.course;
}

/**
 * Builds an engine context whose translate function throws on a key missing
 * in the requested language, so that tests catch untranslated strings.
 */
export function strictContext(course: Course): EngineContext {
  const locales = loadLocales(join(projectRoot, "locales"), course.sourceLanguage);
  return {
    course,
    roles,
    languageNames: locales.languageNames,
    commandWords: locales.commandWords,
    schedule: defaultSchedule,
    t: (language, key, values) => {
      const plural = values && typeof values.count === "number";
      const found = locales.exists(language, key) || (plural && locales.exists(language, `${key}_other`));
      if (!found) throw new Error(`missing string "${key}" in ${language}`);
      return locales.t(language, key, values);
    },
  };
}

/** Copies module 1 of the shipped course into a temporary folder with a manifest that lists only it. */
export function moduleOneContent(): string {
  const dir = mkdtempSync(join(tmpdir(), "waypoints-m1-"));
  for (const language of ["en", "fr", "es"]) {
    cpSync(join(projectRoot, "content", language, "m1"), join(dir, language, "m1"), { recursive: true });
    cpSync(join(projectRoot, "content", language, "glossary.yaml"), join(dir, language, "glossary.yaml"));
  }
  const steps = ["l1", "q1", "l2", "q2", "l3", "q3", "s1", "l4", "q4", "l5", "q5", "r1"].map((id) => `m1-${id}`);
  writeFileSync(
    join(dir, "course.yaml"),
    [
      "id: children-on-the-move",
      'version: "2026.1"',
      "sourceLanguage: en",
      "languages: [en, fr, es]",
      "passMark: 70",
      "title:",
      "  en: Care for children on the move",
      "  fr: Prendre soin des enfants en déplacement",
      "  es: Cuidado de niñas y niños en movimiento",
      "modules:",
      "  - id: m1",
      "    minutesPerWeek: 45",
      `    steps: [${steps.join(", ")}]`,
      "",
    ].join("\n"),
  );
  return dir;
}
