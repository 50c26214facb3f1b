import type { Option, Step } from "./model.js";
import { stepFrontMatterSchema } from "./schema.js";
import { YamlSource, type Problem } from "./yaml-source.js";

/** A message of a step with the file line on which it starts. */
export interface LocatedText {
  text: string;
  line: number;
}

/** A parsed step file: the step, where its parts are, and what was wrong. */
export interface ParsedStep {
  step: Step | null;
  problems: Problem[];
  /** Line of each message of the body, in order. */
  messageLines: number[];
  source: YamlSource | null;
}

const fence = /^---[ \t]*$/;

/**
 * Parses a Markdown step file with YAML front matter. The body of a lesson or a
 * scenario is split into messages at lines that contain only `---`.
 */
export function parseStepFile(file: string, content: string): ParsedStep {
  const lines = content.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n").split("\n");
  if (!fence.test(lines[0] ?? "")) {
    return failure(file, 1, "missing front matter: start the file with a --- line");
  }
  const end = lines.findIndex((line, index) => index > 0 && fence.test(line));
  if (end < 0) {
    return failure(file, 1, "front matter is not closed: add a --- line after it");
  }

  const source = new YamlSource(lines.slice(1, end).join("\n"), file, 2);
  const syntax = source.syntaxProblems();
  if (syntax.length > 0) return { step: null, problems: syntax, messageLines: [], source };
  const { value, problems } = source.parse(stepFrontMatterSchema);
  if (!value) return { step: null, problems, messageLines: [], source };

  const blocks = splitBody(lines.slice(end + 1), end + 2);
  const messages = blocks.map((block) => block.text);
  const messageLines = blocks.map((block) => block.line);
  const bodyLine = messageLines[0] ?? end + 2;
  if (messages.length === 0) {
    return failure(file, end + 2, "the body is empty: write the text after the front matter");
  }

  const options = (value.kind === "quiz" || value.kind === "scenario" ? value.options : []) as Option[];
  const base = { id: value.id, title: value.title, file };
  const single = value.kind === "quiz" || value.kind === "reflection";
  const bodyProblems: Problem[] =
    single && messages.length > 1
      ? [
          {
            file,
            line: messageLines[1] ?? bodyLine,
            message: `a ${value.kind} has one message: remove the --- separator`,
            severity: "error",
          },
        ]
      : [];
  const joined = messages.join("\n\n");

  let step: Step;
  switch (value.kind) {
    case "lesson":
      step = { ...base, kind: "lesson", messages };
      break;
    case "quiz":
      step = { ...base, kind: "quiz", question: joined, options, explanation: value.explanation };
      break;
    case "scenario":
      step = {
        ...base,
        kind: "scenario",
        contentNote: value.contentNote,
        messages,
        decision: value.decision,
        options,
      };
      break;
    case "reflection":
      step = { ...base, kind: "reflection", prompt: joined };
      break;
  }
  return { step, problems: bodyProblems, messageLines, source };
}

function splitBody(lines: string[], firstLine: number): LocatedText[] {
  const blocks: LocatedText[] = [];
  let current: string[] = [];
  let start = firstLine;
  const flush = (): void => {
    const text = current.join("\n").trim();
    if (text.length > 0) {
      const offset = current.findIndex((line) => line.trim().length > 0);
      blocks.push({ text, line: start + Math.max(offset, 0) });
    }
  };
  lines.forEach((line, index) => {
    if (fence.test(line)) {
      flush();
      current = [];
      start = firstLine + index + 1;
    } else {
      current.push(line);
    }
  });
  flush();
  return blocks;
}

function failure(file: string, line: number, message: string): ParsedStep {
  return {
    step: null,
    problems: [{ file, line, message, severity: "error" }],
    messageLines: [],
    source: null,
  };
}
