import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document, type YAMLError } from "yaml";
import type { z } from "zod";

/** A problem found in the course files, located at a file and line. */
export interface Problem {
  file: string;
  line: number;
  message: string;
  severity: "error" | "warning";
}

/** Formats a problem the way compilers do, so that editors can jump to it. */
export function formatProblem(problem: Problem): string {
  const prefix = problem.severity === "warning" ? "warning: " : "";
  return `${problem.file}:${problem.line}: ${prefix}${problem.message}`;
}

/** A parsed YAML text that can map a value's path back to its line. */
export class YamlSource {
  readonly document: Document;
  private readonly lines: LineCounter;
  private readonly text: string;

  /**
   * @param text YAML text.
   * @param file path used in problems.
   * @param firstLine line of the file on which `text` starts (1-based).
   */
  constructor(
    text: string,
    readonly file: string,
    private readonly firstLine = 1,
  ) {
    this.text = text;
    this.lines = new LineCounter();
    // Without pretty errors, messages carry no "at line N, column M" and no code frame.
    this.document = parseDocument(text, { lineCounter: this.lines, prettyErrors: false });
  }

  /**
   * Returns the first YAML syntax error as a problem, or none. Only the first
   * is reported because the parser's later errors usually follow from it.
   */
  syntaxProblems(): Problem[] {
    const error = this.document.errors[0];
    if (!error) return [];
    const line = this.lines.linePos(error.pos[0]).line;
    const lineText = this.text.split("\n")[line - 1] ?? "";
    return [{
      file: this.file,
      line: this.firstLine - 1 + line,
      message: `invalid YAML: ${explainSyntaxError(error, lineText)}`,
      severity: "error",
    }];
  }

  /**
   * Returns the file line of the value at `path`, or of its nearest parent.
   * For a map entry this is the line of its key, where an editor should jump.
   */
  lineOf(path: readonly PropertyKey[]): number {
    for (let depth = path.length; depth >= 0; depth--) {
      const keys = path.slice(0, depth).map((key) => key as string | number);
      const keyLine = this.keyLine(keys);
      if (keyLine !== null) return keyLine;
      const node =
        keys.length === 0
          ? this.document.contents
          : this.document.getIn(keys, true);
      if (isNode(node) && node.range) {
        return this.firstLine - 1 + this.lines.linePos(node.range[0]).line;
      }
    }
    return this.firstLine;
  }

  private keyLine(keys: (string | number)[]): number | null {
    const last = keys.at(-1);
    if (typeof last !== "string") return null;
    const parent = keys.length === 1 ? this.document.contents : this.document.getIn(keys.slice(0, -1), true);
    if (!isMap(parent)) return null;
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
    const range = pair && isNode(pair.key) ? pair.key.range : null;
    return range ? this.firstLine - 1 + this.lines.linePos(range[0]).line : null;
  }

  /** Validates the document with a zod schema, turning issues into problems. */
  parse<T>(schema: z.ZodType<T>): { value: T | null; problems: Problem[] } {
    const data: unknown = this.document.toJS();
    // reportInput puts the rejected value on each issue, which distinguishes a wrong value from a missing one.
    const result = schema.safeParse(data, { reportInput: true });
    if (result.success) return { value: result.data, problems: [] };
    const problems = result.error.issues.map((issue) => ({
      file: this.file,
      line: this.lineOf(issue.path),
      message: describeIssue(issue, data),
      severity: "error" as const,
    }));
    return { value: null, problems };
  }
}

/** A key followed by an unquoted value that contains ": ", such as `title: Part 1: Leaving`. */
const colonInPlainValue = /^\s*(?:-\s+)?([A-Za-z_][\w-]*):\s+[^\s"'|>[{&*!#][^#]*?:(?:\s|$)/;

/** Returns the cause of a YAML syntax error and its fix, without the parser's position. */
function explainSyntaxError(error: YAMLError, lineText: string): string {
  if (error.code === "TAB_AS_INDENT") return `${sentence(error.message)}: indent with spaces, not tabs`;
  const colon = colonInPlainValue.exec(lineText);
  if (error.code === "BLOCK_AS_IMPLICIT_KEY" && colon) {
    return `the value of "${colon[1]}" contains a colon followed by a space: put the value in quotes`;
  }
  return `${sentence(error.message)}: fix the YAML syntax`;
}

/** Lowercases the first letter of a library message so that it reads as part of ours, unless it starts an acronym. */
function sentence(message: string): string {
  const trimmed = message.trim().replace(/\.$/, "");
  return /^[A-Z][a-z]/.test(trimmed) ? trimmed[0]!.toLowerCase() + trimmed.slice(1) : trimmed;
}

/** Singular names of lists whose items have an `id`, so that problems name the item by it. */
const itemNames: Record<string, string> = { options: "option", modules: "module", terms: "term" };

/**
 * Describes where an issue is: list items with an id are named by it, and the
 * rest of the path is the quoted field. For `options.1.correct` this gives
 * `option "b"` and `"correct"`.
 */
function describePath(path: readonly PropertyKey[], data: unknown): { item: string | null; field: string | null } {
  const items: string[] = [];
  let fieldStart = 0;
  let node = data;
  for (const [index, key] of path.entries()) {
    const next = isRecord(node) || Array.isArray(node) ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    const itemName = index > 0 ? itemNames[String(path[index - 1])] : undefined;
    if (typeof key === "number" && itemName) {
      items.push(`${itemName} ${isRecord(next) && typeof next.id === "string" ? `"${next.id}"` : key + 1}`);
      fieldStart = index + 1;
    }
    node = next;
  }
  const field = path.slice(fieldStart).map(String).join(".");
  return { item: items.length > 0 ? items.join(", ") : null, field: field === "" ? null : field };
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  const { item, field } = describePath(issue.path, data);
  const subject = [item, field === null ? null : `"${field}"`].filter((part) => part !== null).join(": ") || "the file";
  if (issue.code === "invalid_type" && issue.input === undefined) {
    return `${subject} is missing: add it (expected ${issue.expected})`;
  }
  if (issue.code === "invalid_type") {
    return `${subject} must be ${expectedName(issue.expected)}, got ${valueName(issue.input)}`;
  }
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => `"${key}"`).join(", ");
    const where = issue.path.length > 0 ? ` in ${subject}` : "";
    return `unknown field ${keys}${where}: remove it or check its spelling`;
  }
  return `${subject} is invalid: ${issue.message}`;
}

function expectedName(expected: string): string {
  const names: Record<string, string> = {
    string: "text",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "a mapping of fields",
  };
  return names[expected] ?? expected;
}

/** Names a YAML value in a problem: text and numbers as written, other values by kind. */
function valueName(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (isRecord(value)) return "a mapping of fields";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 39)}…` : value);
  }
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
