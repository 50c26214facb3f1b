import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { z } from "zod";
import type { Course, GlossaryTerm, Module, Position, Step } from "./model.js";
import { parseStepFile, type ParsedStep } from "./parse-step.js";
import { glossarySchema, manifestSchema, moduleTextSchema } from "./schema.js";
import { checkCourse } from "./rules.js";
import { YamlSource, type Problem } from "./yaml-source.js";

/** A step as loaded from its file, with what the rules need to locate problems. */
export interface LoadedStep {
  language: string;
  moduleId: string;
  parsed: ParsedStep & { step: Step };
}

/** A module.yaml as loaded, for the rules that check its readings. */
export interface LoadedModuleText {
  language: string;
  moduleId: string;
  source: YamlSource;
  readings: { title: string; url: string }[];
}

/** Every course file as loaded, for the rules that run after loading. */
export interface LoadedFiles {
  steps: LoadedStep[];
  moduleTexts: LoadedModuleText[];
  /** `<language>/<id>` of step files that exist but could not be read, so that they are not also reported missing. */
  unreadable: Set<string>;
  /** `<language>/<module>` of module folders not found, whose steps are therefore not reported missing one by one. */
  missingModules: Set<string>;
  glossaryFiles: Record<string, string>;
}

export interface LoadResult {
  /** The course, or null when any error was found. */
  course: Course | null;
  /** The course as far as it could be read, for reports even when invalid. */
  partial: Course | null;
  problems: Problem[];
}

/** Loads the course from a content folder and validates all of it. */
export function loadCourse(contentDir: string): LoadResult {
  const problems: Problem[] = [];
  const manifestFile = join(contentDir, "course.yaml");
  const manifestPath = display(manifestFile);
  if (!existsSync(manifestFile)) {
    problems.push({
      file: manifestPath,
      line: 1,
      message: "course manifest not found: create course.yaml in the content folder",
      severity: "error",
    });
    return { course: null, partial: null, problems };
  }

  const manifestSource = new YamlSource(readFileSync(manifestFile, "utf8"), manifestPath);
  const manifest = readYaml(manifestSource, manifestSchema, problems);
  if (!manifest) return { course: null, partial: null, problems };

  const modules: Module[] = manifest.modules.map((module) => ({
    id: module.id,
    minutesPerWeek: module.minutesPerWeek,
    stepIds: module.steps,
    text: {},
  }));
  const order: Position[] = modules.flatMap((module, moduleIndex) =>
    module.stepIds.map((stepId) => ({ moduleIndex, stepId })),
  );
  const course: Course = {
    id: manifest.id,
    version: manifest.version,
    sourceLanguage: manifest.sourceLanguage,
    languages: manifest.languages,
    passMark: manifest.passMark,
    maxLessonMinutes: manifest.maxLessonMinutes,
    wordsPerMinute: manifest.wordsPerMinute,
    title: manifest.title,
    modules,
    order,
    steps: {},
    glossary: {},
  };

  const files: LoadedFiles = {
    steps: [],
    moduleTexts: [],
    unreadable: new Set(),
    missingModules: new Set(),
    glossaryFiles: {},
  };
  for (const language of manifest.languages) {
    course.steps[language] = new Map();
    files.glossaryFiles[language] = display(join(contentDir, language, "glossary.yaml"));
    course.glossary[language] = loadGlossary(contentDir, language, problems);
    for (const module of modules) {
      loadModule(contentDir, language, module, files, problems);
    }
  }
  problems.push(...checkFolders(contentDir, course));

  problems.push(...checkCourse(course, manifestSource, files));
  for (const item of files.steps) {
    const steps = course.steps[item.language];
    if (steps && !steps.has(item.parsed.step.id)) {
      steps.set(item.parsed.step.id, item.parsed.step);
    }
  }
  const valid = !problems.some((problem) => problem.severity === "error");
  return { course: valid ? course : null, partial: course, problems };
}

function loadModule(
  contentDir: string,
  language: string,
  module: Module,
  files: LoadedFiles,
  problems: Problem[],
): void {
  const dir = join(contentDir, language, module.id);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    problems.push({
      file: display(dir),
      line: 1,
      message: `module folder not found: create ${display(dir)} with module.yaml and the steps of ${module.id}`,
      severity: "error",
    });
    files.missingModules.add(`${language}/${module.id}`);
    return;
  }

  const textFile = join(dir, "module.yaml");
  if (existsSync(textFile)) {
    const source = new YamlSource(readFileSync(textFile, "utf8"), display(textFile));
    const text = readYaml(source, moduleTextSchema, problems);
    if (text) {
      module.text[language] = text;
      files.moduleTexts.push({ language, moduleId: module.id, source, readings: text.readings });
    }
  } else {
    problems.push({
      file: display(textFile),
      line: 1,
      message: "module.yaml not found: add the module's title, summary and readings",
      severity: "error",
    });
  }

  const names = readdirSync(dir).filter((name) => name.endsWith(".md")).sort();
  for (const name of names) {
    const file = display(join(dir, name));
    const content = readFileSync(join(dir, name), "utf8");
    const parsed = parseStepFile(file, content);
    problems.push(...parsed.problems);
    if (parsed.step) {
      files.steps.push({ language, moduleId: module.id, parsed: { ...parsed, step: parsed.step } });
    } else {
      const id = /^id:\s*["']?([a-z0-9-]+)/m.exec(content)?.[1];
      if (id) files.unreadable.add(`${language}/${id}`);
    }
  }
}

/**
 * Reports folders that the loader would skip, ignoring names that start with a dot.
 * A folder under the content folder that is not a language of the manifest gets a
 * warning, because it may be a translation in progress. A folder under a language
 * that is not a module id gets an error, because it is most often a renamed module folder.
 */
function checkFolders(contentDir: string, course: Course): Problem[] {
  const problems: Problem[] = [];
  const moduleIds = course.modules.map((module) => module.id);
  for (const name of subfolders(contentDir)) {
    if (course.languages.includes(name)) continue;
    problems.push({
      file: display(join(contentDir, name)),
      line: 1,
      message: `unknown folder: add "${name}" to languages in course.yaml (${course.languages.join(", ")}) or remove it`,
      severity: "warning",
    });
  }
  for (const language of course.languages) {
    for (const name of subfolders(join(contentDir, language))) {
      if (moduleIds.includes(name)) continue;
      problems.push({
        file: display(join(contentDir, language, name)),
        line: 1,
        message: `unknown folder: rename it to a module id from course.yaml (${moduleIds.join(", ")}) or remove it`,
        severity: "error",
      });
    }
  }
  return problems;
}

/** Returns the sorted names of the folders in a folder, without hidden ones, or none when it does not exist. */
function subfolders(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
    .map((entry) => entry.name)
    .sort();
}

function loadGlossary(contentDir: string, language: string, problems: Problem[]): GlossaryTerm[] {
  const file = join(contentDir, language, "glossary.yaml");
  if (!existsSync(file)) return [];
  const source = new YamlSource(readFileSync(file, "utf8"), display(file));
  return readYaml(source, glossarySchema, problems)?.terms ?? [];
}

function readYaml<T>(source: YamlSource, schema: z.ZodType<T>, problems: Problem[]): T | null {
  const syntax = source.syntaxProblems();
  if (syntax.length > 0) {
    problems.push(...syntax);
    return null;
  }
  const { value, problems: found } = source.parse(schema);
  problems.push(...found);
  return value;
}

function display(path: string): string {
  const relativePath = relative(process.cwd(), path);
  return relativePath.startsWith("..") ? path : relativePath;
}
