/** Course content as the engine reads it, after loading and validation. */

export type StepKind = "lesson" | "quiz" | "scenario" | "reflection";

/** A quiz option or a scenario decision option. */
export interface Option {
  id: string;
  label: string;
  feedback: string;
  /** Set on the one right answer of a quiz question. */
  correct: boolean;
  /** Set on the strongest options of a scenario decision, which is not scored. */
  best: boolean;
}

interface StepBase {
  id: string;
  title: string;
  /** Path of the source file, relative to the working directory. */
  file: string;
}

export interface LessonStep extends StepBase {
  kind: "lesson";
  messages: string[];
}

export interface QuizStep extends StepBase {
  kind: "quiz";
  question: string;
  options: Option[];
  explanation: string;
}

export interface ScenarioStep extends StepBase {
  kind: "scenario";
  contentNote: string | null;
  messages: string[];
  decision: string;
  options: Option[];
}

export interface ReflectionStep extends StepBase {
  kind: "reflection";
  prompt: string;
}

export type Step = LessonStep | QuizStep | ScenarioStep | ReflectionStep;

export interface Reading {
  title: string;
  url: string;
}

/** The parts of a module that are written once per language. */
export interface ModuleText {
  title: string;
  summary: string;
  readings: Reading[];
}

export interface Module {
  id: string;
  minutesPerWeek: number;
  stepIds: string[];
  text: Record<string, ModuleText>;
}

export interface GlossaryTerm {
  id: string;
  term: string;
  aliases: string[];
  definition: string;
  source: string;
}

/** One position in the course: the module index and the step id within it. */
export interface Position {
  moduleIndex: number;
  stepId: string;
}

export interface Course {
  id: string;
  version: string;
  sourceLanguage: string;
  languages: string[];
  /** Percent of quiz questions that must be right at the first try. */
  passMark: number;
  maxLessonMinutes: number;
  wordsPerMinute: number;
  title: Record<string, string>;
  modules: Module[];
  /** Every step in the order a learner meets it. */
  order: Position[];
  /** Steps by language, then by id. */
  steps: Record<string, Map<string, Step>>;
  glossary: Record<string, GlossaryTerm[]>;
}

/** Returns the step at a position of the course order in one language. */
export function stepAt(course: Course, language: string, index: number): Step {
  const position = course.order[index];
  const step = position && course.steps[language]?.get(position.stepId);
  if (!step) {
    throw new Error(
      `no step at position ${index} in language "${language}" of ${course.id}`,
    );
  }
  return step;
}
