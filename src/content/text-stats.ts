import type { Course, Step } from "./model.js";

/** Minutes a learner needs to answer a quiz question or a scenario decision. */
export const answerMinutes = 0.5;
/** Minutes a learner needs to write a reflection. */
export const reflectionMinutes = 3;

/** Counts the words of a text, ignoring Markdown markers and link targets. */
export function countWords(text: string): number {
  const plain = text
    .replace(/\]\([^)]*\)/g, "]")
    .replace(/[*_[\]#>`]/g, " ");
  return plain.split(/\s+/).filter((word) => /\p{L}|\p{N}/u.test(word)).length;
}

/** Returns every text of a step that a learner reads. */
export function stepTexts(step: Step): string[] {
  switch (step.kind) {
    case "lesson":
      return [step.title, ...step.messages];
    case "quiz":
      return [
        step.question,
        ...step.options.map((option) => option.label),
        step.explanation,
      ];
    case "scenario":
      return [
        step.title,
        step.contentNote ?? "",
        ...step.messages,
        step.decision,
        ...step.options.map((option) => option.label),
      ];
    case "reflection":
      return [step.title, step.prompt];
  }
}

/**
 * Counts the words a learner reads in a step. Option feedback counts once, for
 * the option the learner picks, so the longest feedback stands for all.
 */
export function stepWords(step: Step): number {
  const read = stepTexts(step).reduce((sum, text) => sum + countWords(text), 0);
  if (step.kind !== "quiz" && step.kind !== "scenario") return read;
  const feedback = Math.max(...step.options.map((option) => countWords(option.feedback)));
  return read + feedback;
}

/** Estimates the minutes a step takes: reading at the course's speed, plus time to choose or write. */
export function stepMinutes(step: Step, wordsPerMinute: number): number {
  const reading = stepWords(step) / wordsPerMinute;
  switch (step.kind) {
    case "lesson":
      return reading;
    case "quiz":
    case "scenario":
      return reading + answerMinutes;
    case "reflection":
      return reading + reflectionMinutes;
  }
}

export interface ModuleStats {
  moduleId: string;
  steps: number;
  words: number;
  minutes: number;
  minutesPerWeek: number;
}

/** Sums words and minutes per module for one language. */
export function moduleStats(course: Course, language: string): ModuleStats[] {
  const steps = course.steps[language] ?? new Map<string, Step>();
  return course.modules.map((module) => {
    const present = module.stepIds
      .map((stepId) => steps.get(stepId))
      .filter((step): step is Step => step !== undefined);
    return {
      moduleId: module.id,
      steps: present.length,
      words: present.reduce((sum, step) => sum + stepWords(step), 0),
      minutes: present.reduce(
        (sum, step) => sum + stepMinutes(step, course.wordsPerMinute),
        0,
      ),
      minutesPerWeek: module.minutesPerWeek,
    };
  });
}
