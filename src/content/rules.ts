import type { Course, Option, Step } from "./model.js";
import type { LoadedFiles, LoadedStep } from "./load.js";
import { limits } from "./schema.js";
import { countWords, moduleStats, stepMinutes } from "./text-stats.js";
import type { Problem, YamlSource } from "./yaml-source.js";
import { encodeCallback, maxPromptNumber, optionChoice } from "../engine/callback.js";
import { extractImage } from "../render/markdown.js";

/** A translation whose word count is outside this ratio of the source is flagged. */
export const translationRatio = { min: 0.6, max: 1.7 } as const;

/** Runs every rule over a loaded course and returns the problems found. */
export function checkCourse(
  course: Course,
  manifest: YamlSource,
  files: LoadedFiles,
): Problem[] {
  const loaded = files.steps;
  return [
    ...checkManifest(course, manifest),
    ...checkPresence(course, manifest, loaded, files),
    ...loaded.flatMap((item) => checkStep(item)),
    ...checkReadings(files),
    ...checkTranslations(course, loaded),
    ...checkTiming(course, manifest, loaded),
    ...checkGlossaries(course, files.glossaryFiles),
  ];
}

function checkReadings(files: LoadedFiles): Problem[] {
  return files.moduleTexts.flatMap((text) =>
    text.readings.flatMap((reading, index) => {
      const problem = checkUrl(reading.url);
      if (!problem) return [];
      return [error(text.source.file, text.source.lineOf(["readings", index, "url"]), `broken link "${reading.url}": ${problem}`)];
    }),
  );
}

function error(file: string, line: number, message: string): Problem {
  return { file, line, message, severity: "error" };
}

function warning(file: string, line: number, message: string): Problem {
  return { file, line, message, severity: "warning" };
}

function checkManifest(course: Course, manifest: YamlSource): Problem[] {
  const problems: Problem[] = [];
  const file = manifest.file;
  if (!course.languages.includes(course.sourceLanguage)) {
    problems.push(
      error(file, manifest.lineOf(["sourceLanguage"]),
        `source language "${course.sourceLanguage}" is not in languages: add it to languages`),
    );
  }
  for (const language of course.languages) {
    if (!course.title[language]) {
      problems.push(
        error(file, manifest.lineOf(["title"]),
          `missing course title for "${language}": add title.${language}`),
      );
    }
  }
  const seen = new Map<string, string>();
  course.modules.forEach((module, moduleIndex) => {
    if (seen.has(module.id)) {
      problems.push(error(file, manifest.lineOf(["modules", moduleIndex, "id"]),
        `duplicate module id "${module.id}": give each module its own id`));
    }
    seen.set(module.id, "module");
    module.stepIds.forEach((stepId, stepIndex) => {
      if (seen.has(stepId)) {
        problems.push(error(file, manifest.lineOf(["modules", moduleIndex, "steps", stepIndex]),
          `duplicate id "${stepId}" in the manifest: list each step once`));
      }
      seen.set(stepId, module.id);
    });
  });
  return problems;
}

function checkPresence(course: Course, manifest: YamlSource, loaded: LoadedStep[], files: LoadedFiles): Problem[] {
  const problems: Problem[] = [];
  const moduleOf = new Map<string, string>();
  for (const module of course.modules) {
    for (const stepId of module.stepIds) moduleOf.set(stepId, module.id);
  }

  const firstFile = new Map<string, string>();
  for (const item of loaded) {
    const { step } = item.parsed;
    const key = `${item.language}/${step.id}`;
    const line = item.parsed.source?.lineOf(["id"]) ?? 1;
    const expectedModule = moduleOf.get(step.id);
    if (firstFile.has(key)) {
      problems.push(error(step.file, line,
        `duplicate id "${step.id}", also in ${firstFile.get(key)}: give each step its own id`));
      continue;
    }
    firstFile.set(key, step.file);
    if (!expectedModule) {
      problems.push(error(step.file, line,
        `unknown id "${step.id}": list it in a module's steps in course.yaml, or fix the id`));
    } else if (expectedModule !== item.moduleId) {
      problems.push(error(step.file, line,
        `step "${step.id}" belongs to module ${expectedModule}: move the file to that module's folder`));
    }
  }

  course.modules.forEach((module, moduleIndex) => {
    module.stepIds.forEach((stepId, stepIndex) => {
      const present = course.languages.filter((language) => firstFile.has(`${language}/${stepId}`));
      for (const language of course.languages) {
        if (present.includes(language) || files.unreadable.has(`${language}/${stepId}`)) continue;
        // The missing module folder is already reported, once.
        if (files.missingModules.has(`${language}/${module.id}`)) continue;
        const elsewhere = present.length > 0 ? ` (present in ${present.join(", ")})` : "";
        problems.push(error(manifest.file, manifest.lineOf(["modules", moduleIndex, "steps", stepIndex]),
          `missing translation: step "${stepId}" has no file in ${language}/${module.id}${elsewhere}: add one with id: ${stepId}`));
      }
    });
  });
  return problems;
}

function checkStep(item: LoadedStep): Problem[] {
  const { step, source, messageLines } = item.parsed;
  const problems: Problem[] = [];
  const at = (path: PropertyKey[]): number => source?.lineOf(path) ?? 1;
  const bodyLine = messageLines[0] ?? 1;

  const texts: { text: string; line: number; what: string }[] = [];
  if (step.kind === "lesson" || step.kind === "scenario") {
    step.messages.forEach((text, index) =>
      texts.push({ text, line: messageLines[index] ?? bodyLine, what: `message ${index + 1}` }));
  }
  if (step.kind === "quiz") texts.push({ text: step.question, line: bodyLine, what: "the question" });
  if (step.kind === "reflection") texts.push({ text: step.prompt, line: bodyLine, what: "the prompt" });
  if (step.kind === "quiz") texts.push({ text: step.explanation, line: at(["explanation"]), what: "the explanation" });
  if (step.kind === "scenario") {
    texts.push({ text: step.decision, line: at(["decision"]), what: "the decision" });
    if (step.contentNote) texts.push({ text: step.contentNote, line: at(["contentNote"]), what: "the content note" });
  }

  if (step.kind === "quiz" || step.kind === "scenario") {
    problems.push(...checkOptions(step, step.options, at));
    step.options.forEach((option, index) =>
      texts.push({ text: option.feedback, line: at(["options", index, "feedback"]), what: `the feedback of option "${option.id}"` }));
  }

  for (const { text, line, what } of texts) {
    if (text.length > limits.messageCharacters) {
      problems.push(error(step.file, line,
        `${what} has ${text.length} characters, over the limit of ${limits.messageCharacters}: split it or shorten it`));
    }
    problems.push(...checkLinks(step.file, line, text));
    for (const match of text.matchAll(/!\[([^\]]*)\]\(([^)\s]*)\)/g)) {
      if ((match[1] ?? "").trim() === "") {
        problems.push(error(step.file, line, `the image in ${what} has no description: write ![what it shows](${match[2] ?? "https://..."})`));
      }
      if ((match[2] ?? "").startsWith("https://")) {
        const caption = extractImage(text).text;
        if (caption.length > limits.captionCharacters) {
          problems.push(warning(step.file, line, `${what} has an image and ${caption.length} characters, over the caption limit of ${limits.captionCharacters}: the text goes in a message of its own after the image`));
        }
      }
    }
  }
  return problems;
}

function checkOptions(step: Step, options: Option[], at: (path: PropertyKey[]) => number): Problem[] {
  const problems: Problem[] = [];
  const optionsLine = at(["options"]);
  if (options.length < 2 || options.length > 4) {
    problems.push(error(step.file, optionsLine,
      `${step.kind === "quiz" ? "a question" : "a decision"} needs 2 to 4 options, found ${options.length}`));
  }
  if (step.kind === "quiz") {
    const correct = options.filter((option) => option.correct).length;
    if (correct !== 1) {
      problems.push(error(step.file, optionsLine,
        `a question needs exactly one option with correct: true, found ${correct}`));
    }
  }
  if (step.kind === "scenario" && !options.some((option) => option.best)) {
    problems.push(error(step.file, optionsLine,
      "a decision needs at least one option with best: true"));
  }
  const ids = new Set<string>();
  options.forEach((option, index) => {
    if (ids.has(option.id)) {
      problems.push(error(step.file, at(["options", index, "id"]),
        `duplicate option id "${option.id}": give each option its own id`));
    }
    ids.add(option.id);
    if (option.label.length > limits.buttonLabelCharacters) {
      problems.push(error(step.file, at(["options", index, "label"]),
        `label of option "${option.id}" has ${option.label.length} characters, over the button limit of ${limits.buttonLabelCharacters}: shorten it`));
    }
    const data = encodeCallback({ prompt: maxPromptNumber, choice: optionChoice(option.id) });
    if (Buffer.byteLength(data) > limits.callbackDataBytes) {
      problems.push(error(step.file, at(["options", index, "id"]),
        `option id "${option.id}" makes callback data of ${Buffer.byteLength(data)} bytes, over ${limits.callbackDataBytes}: shorten the id`));
    }
  });
  return problems;
}

/** Checks Markdown links and bare URLs; the checker cannot reach the network, so it checks their form. */
export function checkLinks(file: string, line: number, text: string): Problem[] {
  const problems: Problem[] = [];
  const urls: string[] = [];
  for (const match of text.matchAll(/\[([^\]]*)\]\(([^)\s]*)\)/g)) urls.push(match[2] ?? "");
  const withoutLinks = text.replace(/\[([^\]]*)\]\(([^)\s]*)\)/g, "$1");
  if (/\]\(/.test(withoutLinks)) {
    problems.push(error(file, line, "broken link: a Markdown link is not closed: write [text](https://...)"));
  }
  for (const match of withoutLinks.matchAll(/\bhttps?:\/\/[^\s)>\]]+/g)) urls.push(match[0]);
  for (const url of urls) {
    const problem = checkUrl(url);
    if (problem) problems.push(error(file, line, `broken link "${url}": ${problem}`));
  }
  return problems;
}

/** Returns what is wrong with a reading or message URL, or null when it is well formed. */
export function checkUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "not a valid URL: write a full https:// address";
  }
  if (parsed.protocol !== "https:") return "use https://";
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(parsed.hostname)) {
    return `host "${parsed.hostname}" is not a public host name: check the address`;
  }
  return null;
}

function checkTranslations(course: Course, loaded: LoadedStep[]): Problem[] {
  const problems: Problem[] = [];
  const source = new Map<string, Step>();
  for (const item of loaded) {
    if (item.language === course.sourceLanguage && !source.has(item.parsed.step.id)) {
      source.set(item.parsed.step.id, item.parsed.step);
    }
  }
  for (const item of loaded) {
    if (item.language === course.sourceLanguage) continue;
    const { step } = item.parsed;
    const original = source.get(step.id);
    if (!original) continue;
    const at = (path: PropertyKey[]): number => item.parsed.source?.lineOf(path) ?? 1;
    const from = course.sourceLanguage;
    if (original.kind !== step.kind) {
      problems.push(error(step.file, at(["kind"]),
        `kind "${step.kind}" differs from "${original.kind}" in ${from}: use the same kind in every language`));
      continue;
    }
    if ((step.kind === "quiz" || step.kind === "scenario") &&
        (original.kind === "quiz" || original.kind === "scenario")) {
      const ids = step.options.map((option) => option.id).join(", ");
      const expected = original.options.map((option) => option.id).join(", ");
      if (ids !== expected) {
        problems.push(error(step.file, at(["options"]),
          `options [${ids}] differ from [${expected}] in ${from}: use the same option ids, in the same order, in every language`));
      } else {
        const flag = step.kind === "quiz" ? "correct" : "best";
        const marked = step.options.filter((option) => option[flag]).map((option) => option.id).join(", ");
        const expectedMarked = original.options.filter((option) => option[flag]).map((option) => option.id).join(", ");
        if (marked !== expectedMarked) {
          problems.push(error(step.file, at(["options"]),
            `${flag} options [${marked}] differ from [${expectedMarked}] in ${from}: mark the same options in every language`));
        }
      }
    }
    if ((step.kind === "lesson" || step.kind === "scenario") &&
        (original.kind === "lesson" || original.kind === "scenario") &&
        step.messages.length !== original.messages.length) {
      problems.push(warning(step.file, item.parsed.messageLines[0] ?? 1,
        `${step.messages.length} messages where ${from} has ${original.messages.length}: keep the same split so that reviewers can compare`));
    }
    const words = countStepWords(step);
    const sourceWords = countStepWords(original);
    const ratio = sourceWords > 0 ? words / sourceWords : 1;
    if (ratio < translationRatio.min || ratio > translationRatio.max) {
      problems.push(warning(step.file, item.parsed.messageLines[0] ?? 1,
        `${words} words against ${sourceWords} in ${from} (${ratio.toFixed(2)} times): check that nothing is missing or added`));
    }
  }
  return problems;
}

function countStepWords(step: Step): number {
  const texts: string[] = [];
  if (step.kind === "lesson" || step.kind === "scenario") texts.push(...step.messages);
  if (step.kind === "quiz") texts.push(step.question, step.explanation);
  if (step.kind === "reflection") texts.push(step.prompt);
  if (step.kind === "quiz" || step.kind === "scenario") {
    texts.push(...step.options.map((option) => `${option.label} ${option.feedback}`));
  }
  return texts.reduce((sum, text) => sum + countWords(text), 0);
}

function checkTiming(course: Course, manifest: YamlSource, loaded: LoadedStep[]): Problem[] {
  const problems: Problem[] = [];
  for (const item of loaded) {
    const { step } = item.parsed;
    if (step.kind !== "lesson") continue;
    const minutes = stepMinutes(step, course.wordsPerMinute);
    if (minutes > course.maxLessonMinutes) {
      problems.push(warning(step.file, item.parsed.messageLines[0] ?? 1,
        `micro-lesson takes about ${minutes.toFixed(1)} minutes, over the limit of ${course.maxLessonMinutes}: split it or shorten it`));
    }
  }

  const complete = (language: string): Map<string, Step> => {
    const steps = new Map<string, Step>();
    for (const item of loaded) {
      if (item.language === language && !steps.has(item.parsed.step.id)) steps.set(item.parsed.step.id, item.parsed.step);
    }
    return steps;
  };
  const from = course.sourceLanguage;
  const view: Course = { ...course, steps: { [from]: complete(from) } };
  moduleStats(view, from).forEach((stats, moduleIndex) => {
    const estimate = Math.ceil(stats.minutes);
    if (stats.steps === 0) return;
    if (stats.minutesPerWeek < estimate || stats.minutesPerWeek > 2 * estimate + 15) {
      problems.push(warning(manifest.file, manifest.lineOf(["modules", moduleIndex, "minutesPerWeek"]),
        `module ${stats.moduleId} states ${stats.minutesPerWeek} minutes a week but its steps take about ${estimate} in ${from}: state between ${estimate} and ${2 * estimate + 15}`));
    }
  });
  return problems;
}

function checkGlossaries(course: Course, glossaryFiles: Record<string, string>): Problem[] {
  const problems: Problem[] = [];
  const sourceIds = (course.glossary[course.sourceLanguage] ?? []).map((term) => term.id);
  for (const language of course.languages) {
    const file = glossaryFiles[language] ?? `${language}/glossary.yaml`;
    const ids = (course.glossary[language] ?? []).map((term) => term.id);
    const seen = new Set<string>();
    for (const termId of ids) {
      if (seen.has(termId)) problems.push(error(file, 1, `duplicate glossary id "${termId}": list each term once`));
      seen.add(termId);
    }
    if (language === course.sourceLanguage) continue;
    for (const termId of sourceIds) {
      if (!seen.has(termId)) {
        problems.push(error(file, 1,
          `missing translation: glossary term "${termId}" of ${course.sourceLanguage} is not in ${language}: add it`));
      }
    }
  }
  return problems;
}
