import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCourse } from "../../src/content/load.js";
import { formatProblem } from "../../src/content/yaml-source.js";
import { moduleOneContent, projectRoot } from "../support/context.js";

/** Builds a module-1 fixture, applies a change, and returns the checker's output lines. */
function check(change: (dir: string) => void): string[] {
  const dir = moduleOneContent();
  change(dir);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return loadCourse(dir).problems.map(formatProblem);
  } finally {
    process.chdir(cwd);
  }
}

function edit(dir: string, file: string, replace: (text: string) => string): void {
  const path = join(dir, file);
  writeFileSync(path, replace(readFileSync(path, "utf8")));
}

describe("content checker", () => {
  it("accepts the shipped course with no errors", () => {
    const result = loadCourse(join(projectRoot, "content"));
    const errors = result.problems.filter((problem) => problem.severity === "error").map(formatProblem);
    expect(errors).toEqual([]);
    expect(result.course?.modules).toHaveLength(6);
  });

  it("accepts the module-1 fixture with no problems", () => {
    expect(check(() => undefined)).toEqual([]);
  });

  const cases: { name: string; change: (dir: string) => void; expected: string[] }[] = [
    {
      name: "missing translation",
      change: (dir) => rmSync(join(dir, "fr/m1/02-q1-separated.md")),
      expected: ['course.yaml:13: missing translation: step "m1-q1" has no file in fr/m1 (present in en, es): add one with id: m1-q1'],
    },
    {
      name: "duplicate id",
      change: (dir) => writeFileSync(join(dir, "en/m1/99-copy.md"), readFileSync(join(dir, "en/m1/01-l1-who.md"))),
      expected: ['en/m1/99-copy.md:2: duplicate id "m1-l1", also in en/m1/01-l1-who.md: give each step its own id'],
    },
    {
      name: "unknown id",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("id: m1-l1", "id: m1-l9")),
      expected: [
        'en/m1/01-l1-who.md:2: unknown id "m1-l9": list it in a module\'s steps in course.yaml, or fix the id',
        'course.yaml:13: missing translation: step "m1-l1" has no file in en/m1 (present in fr, es): add one with id: m1-l1',
      ],
    },
    {
      name: "one option only",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => text.replace(/  - id: a[\s\S]*?(?=  - id: b)/, "").replace(/  - id: c[\s\S]*?(?=explanation:)/, "")),
      expected: [
        "en/m1/02-q1-separated.md:4: a question needs 2 to 4 options, found 1",
        "fr/m1/02-q1-separated.md:4: options [a, b, c] differ from [b] in en: use the same option ids, in the same order, in every language",
        "fr/m1/02-q1-separated.md:32: warning: 218 words against 110 in en (1.98 times): check that nothing is missing or added",
        "es/m1/02-q1-separated.md:4: options [a, b, c] differ from [b] in en: use the same option ids, in the same order, in every language",
        "es/m1/02-q1-separated.md:31: warning: 208 words against 110 in en (1.89 times): check that nothing is missing or added",
      ],
    },
    {
      name: "label over the button limit",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => text.replace("label: Separated child", `label: ${"Separated child ".repeat(5).trim()}`)),
      expected: ['en/m1/02-q1-separated.md:12: label of option "b" has 79 characters, over the button limit of 64: shorten it'],
    },
    {
      name: "message over 4096 characters",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("Welcome to Waypoints.", `Welcome to Waypoints. ${"word ".repeat(820)}`)),
      expected: [
        "en/m1/01-l1-who.md:6: message 1 has 4425 characters, over the limit of 4096: split it or shorten it",
        "fr/m1/01-l1-who.md:6: warning: 368 words against 1144 in en (0.32 times): check that nothing is missing or added",
        "es/m1/01-l1-who.md:6: warning: 348 words against 1144 in en (0.30 times): check that nothing is missing or added",
        "en/m1/01-l1-who.md:6: warning: micro-lesson takes about 7.7 minutes, over the limit of 4: split it or shorten it",
      ],
    },
    {
      name: "broken links",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("Welcome to Waypoints.", "Welcome to [Waypoints](http://example.org). See [the CRC](https://localhost/crc")),
      expected: [
        "en/m1/01-l1-who.md:6: broken link: a Markdown link is not closed: write [text](https://...)",
        'en/m1/01-l1-who.md:6: broken link "http://example.org": use https://',
        'en/m1/01-l1-who.md:6: broken link "https://localhost/crc": host "localhost" is not a public host name: check the address',
      ],
    },
    {
      name: "reading link that is not a URL",
      change: (dir) => edit(dir, "en/m1/module.yaml", (text) => text.replace(/url: \S+/, "url: www.ohchr.org")),
      expected: ['en/m1/module.yaml:8: broken link "www.ohchr.org": not a valid URL: write a full https:// address'],
    },
    {
      name: "quiz options that differ between languages",
      change: (dir) => edit(dir, "es/m1/02-q1-separated.md", (text) => text.replace("  - id: c", "  - id: d")),
      expected: ["es/m1/02-q1-separated.md:4: options [a, b, d] differ from [a, b, c] in en: use the same option ids, in the same order, in every language"],
    },
    {
      name: "a different right answer in a translation",
      change: (dir) => edit(dir, "fr/m1/02-q1-separated.md", (text) => text.replace("    correct: true\n", "").replace(/(  - id: a\n)/, "$1    correct: true\n")),
      expected: ["fr/m1/02-q1-separated.md:4: correct options [a] differ from [b] in en: mark the same options in every language"],
    },
    {
      name: "stated weekly time far from the steps",
      change: (dir) => edit(dir, "course.yaml", (text) => text.replace("minutesPerWeek: 45", "minutesPerWeek: 5")),
      expected: ["course.yaml:12: warning: module m1 states 5 minutes a week but its steps take about 24 in en: state between 24 and 63"],
    },
    {
      name: "YAML syntax error",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("title: Who are children on the move?", "title: [Who are")),
      expected: [expect.stringMatching(/^en\/m1\/01-l1-who\.md:4: invalid YAML: .+: fix the syntax$/) as unknown as string],
    },
    {
      name: "missing field",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => text.replace(/explanation: >-[\s\S]*?(?=---)/, "")),
      expected: ['en/m1/02-q1-separated.md:2: "explanation" is missing: add it (expected string)'],
    },
    {
      name: "unknown field",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("kind: lesson", "kind: lesson\ntitel: typo")),
      expected: ['en/m1/01-l1-who.md:2: unknown field "titel": remove it or check its spelling'],
    },
  ];

  for (const testCase of cases) {
    it(`reports ${testCase.name}`, () => {
      expect(check(testCase.change)).toEqual(testCase.expected);
    });
  }
});
