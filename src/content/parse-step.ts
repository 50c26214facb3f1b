import type { Option, Step } from "./model.js";
import { stepFieldNames, stepFrontMatterSchema } from "./schema.js";
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
 * A top-level front matter line: `key:` with a plain field name, a quoted key,
 * a `- ` list item, or a comment. Values continue on indented lines.
 */
const frontMatterLine = /^(?:[A-Za-z_][\w-]*:(?:\s|$)|["'][^"']*["']\s*:(?:\s|$)|-(?:\s|$)|#)/;

/** A field name followed by a space, as in `title Who are`: a key that lacks its colon, which YAML reports. */
const fieldWithoutColon = new RegExp(`^(?:${stepFieldNames.join("|")})\\s`);

/**
 * Tells whether a line between the opening `---` and the first later `---`
 * is body text, which means that the front matter was never closed and the
 * `---` found is a message separator. Step front matter is a mapping of plain
 * field names, so its unindented lines are `key:` lines, list items or
 * comments, and any other unindented text is taken as body.
 */
function isBodyLine(line: string): boolean {
  if (line.trim() === "" || /^\s/.test(line)) return false;
  return !frontMatterLine.test(line) && !fieldWithoutColon.test(line);
}

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
  if (end < 0 || lines.slice(1, end).some(isBodyLine)) {
    return failure(file, 1, "front matter is not closed: add a --- line after it");
  }

  const source = new YamlSource(lines.slice(1, end).join("\n"), file, 2);
  const syntax = source.syntaxProblems();
  if (syntax.length > 0) return { step: null, problems: syntax, messageLines: [], source };
  const { value, problems } = source.parse(stepFrontMatterSchema);
  if (!value) return { step: null, problems, messageLines: [], source };

  const blocks = splitBody(lines.slice(end + 1), end + 2);
  const written = blocks.filter((block) => block.text.length > 0);
  const messages = written.map((block) => block.text);
  const messageLines = written.map((block) => block.line);
  if (messages.length === 0) {
    return failure(file, end + 2, "the body is empty: write the text after the front matter");
  }

  const options = (value.kind === "quiz" || value.kind === "scenario" ? value.options : []) as Option[];
  const base = { id: value.id, title: value.title, file };
  const single = value.kind === "quiz" || value.kind === "reflection";
  const bodyProblems: Problem[] = single
    ? separatorProblems(file, value.kind, blocks)
    : emptyMessageProblems(file, blocks);
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

/** A block of the body between `---` separators, with the lines of the separators around it. */
interface BodyBlock extends LocatedText {
  /** Line of the `---` before the block, or null for the first block, which follows the front matter. */
  fenceBefore: number | null;
  /** Line of the `---` after the block, or null for the last block. */
  fenceAfter: number | null;
}

/** Splits the body at `---` lines, keeping empty blocks so that they can be reported. */
function splitBody(lines: string[], firstLine: number): BodyBlock[] {
  const blocks: BodyBlock[] = [];
  let current: string[] = [];
  let start = firstLine;
  let fenceBefore: number | null = null;
  const flush = (fenceAfter: number | null): void => {
    const text = current.join("\n").trim();
    const offset = current.findIndex((line) => line.trim().length > 0);
    blocks.push({ text, line: start + Math.max(offset, 0), fenceBefore, fenceAfter });
  };
  lines.forEach((line, index) => {
    if (fence.test(line)) {
      const fenceLine = firstLine + index;
      flush(fenceLine);
      current = [];
      start = fenceLine + 1;
      fenceBefore = fenceLine;
    } else {
      current.push(line);
    }
  });
  flush(null);
  return blocks;
}

/** Reports each empty message of a lesson or scenario at the `---` line that makes it. */
function emptyMessageProblems(file: string, blocks: BodyBlock[]): Problem[] {
  return blocks.flatMap((block, index) => {
    if (block.text.length > 0) return [];
    const line = block.fenceAfter ?? block.fenceBefore ?? block.line;
    return [{ file, line, message: `message ${index + 1} is empty: remove the extra --- line`, severity: "error" as const }];
  });
}

/** Reports a `---` in the body of a quiz or reflection, which has one message. */
function separatorProblems(file: string, kind: "quiz" | "reflection", blocks: BodyBlock[]): Problem[] {
  const separator = blocks[0]?.fenceAfter;
  if (separator === null || separator === undefined) return [];
  return [{ file, line: separator, message: `a ${kind} has one message: remove the --- separator`, severity: "error" }];
}

function failure(file: string, line: number, message: string): ParsedStep {
  return {
    step: null,
    problems: [{ file, line, message, severity: "error" }],
    messageLines: [],
    source: null,
  };
}
