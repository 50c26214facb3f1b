import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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
        expect.stringMatching(/^fr\/m1\/02-q1-separated\.md:\d+: warning: \d+ words against 110 in en \(\d\.\d\d times\): check that nothing is missing or added$/) as unknown as string,
        "es/m1/02-q1-separated.md:4: options [a, b, c] differ from [b] in en: use the same option ids, in the same order, in every language",
        expect.stringMatching(/^es\/m1\/02-q1-separated\.md:\d+: warning: \d+ words against 110 in en \(\d\.\d\d times\): check that nothing is missing or added$/) as unknown as string,
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
        expect.stringMatching(/^fr\/m1\/01-l1-who\.md:6: warning: \d+ words against 1144 in en \(0\.\d\d times\): check that nothing is missing or added$/) as unknown as string,
        expect.stringMatching(/^es\/m1\/01-l1-who\.md:6: warning: \d+ words against 1144 in en \(0\.\d\d times\): check that nothing is missing or added$/) as unknown as string,
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
      expected: ["en/m1/01-l1-who.md:4: invalid YAML: flow sequence in block collection must be sufficiently indented and end with a ]: fix the YAML syntax"],
    },
    {
      name: "tab indentation once",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => text.replace("    label: Unaccompanied child", "\tlabel: Unaccompanied child")),
      expected: ["en/m1/02-q1-separated.md:6: invalid YAML: tabs are not allowed as indentation: indent with spaces, not tabs"],
    },
    {
      name: "colon in an unquoted value",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("title: Who are children on the move?", "title: Part 1: Leaving")),
      expected: ['en/m1/01-l1-who.md:4: invalid YAML: the value of "title" contains a colon followed by a space: put the value in quotes'],
    },
    {
      name: "colon in an unquoted option label",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => text.replace("label: Separated child", "label: Answer: separated child")),
      expected: ['en/m1/02-q1-separated.md:12: invalid YAML: the value of "label" contains a colon followed by a space: put the value in quotes'],
    },
    {
      name: "front matter not closed before messages",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("title: Who are children on the move?\n---\n", "title: Who are children on the move?\n")),
      expected: ["en/m1/01-l1-who.md:1: front matter is not closed: add a --- line after it"],
    },
    {
      name: "front matter not closed in a quiz",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => text.replace(/\n---\n(A 12)/, "\n$1")),
      expected: ["en/m1/02-q1-separated.md:1: front matter is not closed: add a --- line after it"],
    },
    {
      name: "field without its colon as YAML",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("title: Who are children on the move?", "title Who are children on the move?")),
      expected: ["en/m1/01-l1-who.md:4: invalid YAML: implicit map keys need to be followed by map values: fix the YAML syntax"],
    },
    {
      name: "empty message between separators",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("\n---\n\nA **child**", "\n---\n\n---\n\nA **child**")),
      expected: ["en/m1/01-l1-who.md:10: message 2 is empty: remove the extra --- line"],
    },
    {
      name: "empty message at the end",
      change: (dir) => edit(dir, "en/m1/07-s1-leaving.md", (text) => `${text.trimEnd()}\n\n---\n`),
      expected: ["en/m1/07-s1-leaving.md:63: message 5 is empty: remove the extra --- line"],
    },
    {
      name: "separator in a quiz question",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => `${text.trimEnd()}\n\n---\n`),
      expected: ["en/m1/02-q1-separated.md:33: a quiz has one message: remove the --- separator"],
    },
    {
      name: "wrong type in an option",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => text.replace("correct: true", "correct: yes")),
      expected: ['en/m1/02-q1-separated.md:13: option "b": "correct" must be true or false, got "yes"'],
    },
    {
      name: "wrong type in the manifest",
      change: (dir) => edit(dir, "course.yaml", (text) => text.replace("passMark: 70", "passMark: high")),
      expected: ['course.yaml:5: "passMark" must be a number, got "high"'],
    },
    {
      name: "empty value of a field",
      change: (dir) => edit(dir, "en/m1/01-l1-who.md", (text) => text.replace("title: Who are children on the move?", "title:")),
      expected: ['en/m1/01-l1-who.md:4: "title" must be text, got an empty value'],
    },
    {
      name: "missing field of an option",
      change: (dir) => edit(dir, "en/m1/02-q1-separated.md", (text) => text.replace(/(    label: Unaccompanied child\n)    feedback: >-\n(      .*\n)+/, "$1")),
      expected: ['en/m1/02-q1-separated.md:5: option "a": "feedback" is missing: add it (expected string)'],
    },
    {
      name: "renamed module folder",
      change: (dir) => renameSync(join(dir, "fr/m1"), join(dir, "fr/module1")),
      expected: [
        "fr/m1:1: module folder not found: create fr/m1 with module.yaml and the steps of m1",
        "fr/module1:1: unknown folder: rename it to a module id from course.yaml (m1) or remove it",
      ],
    },
    {
      name: "unknown language folder",
      change: (dir) => {
        mkdirSync(join(dir, "de/m1"), { recursive: true });
        mkdirSync(join(dir, ".drafts"));
        writeFileSync(join(dir, "README.md"), "Notes for writers.\n");
      },
      expected: ['de:1: warning: unknown folder: add "de" to languages in course.yaml (en, fr, es) or remove it'],
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
