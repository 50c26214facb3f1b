import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from "yaml";
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
    this.lines = new LineCounter();
    this.document = parseDocument(text, { lineCounter: this.lines });
  }

  /** Returns the YAML syntax errors as problems. */
  syntaxProblems(): Problem[] {
    return this.document.errors.map((error) => ({
      file: this.file,
      line: this.firstLine - 1 + (error.linePos?.[0]?.line ?? 1),
      message: `invalid YAML: ${error.message.split("\n")[0]}: fix the syntax`,
      severity: "error" as const,
    }));
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
    const result = schema.safeParse(this.document.toJS());
    if (result.success) return { value: result.data, problems: [] };
    const problems = result.error.issues.map((issue) => ({
      file: this.file,
      line: this.lineOf(issue.path),
      message: describeIssue(issue),
      severity: "error" as const,
    }));
    return { value: null, problems };
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length > 0 ? issue.path.join(".") : "the file";
  if (issue.code === "invalid_type" && issue.input === undefined) {
    return `"${field}" is missing: add it (expected ${issue.expected})`;
  }
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => `"${key}"`).join(", ");
    const where = issue.path.length > 0 ? ` in "${field}"` : "";
    return `unknown field ${keys}${where}: remove it or check its spelling`;
  }
  return `"${field}" is invalid: ${issue.message}`;
}
