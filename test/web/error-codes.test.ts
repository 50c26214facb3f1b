import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../support/context.js";

/** A code as a string literal, so that a comment that mentions "WP_CHAT_* codes" does not count. */
const codePattern = /["'`](WP_[A-Z0-9_]+)["'`]/g;

/** Returns the WP_* codes that the files under a folder use, sorted. */
function codesInSource(dir: string): string[] {
  const codes = new Set<string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), "utf8");
    for (const match of text.matchAll(codePattern)) codes.add(match[1]!);
  }
  return [...codes].sort();
}

/** Returns the first cell of each table row of docs/errors.md whose code starts with WP_. */
function documentedRows(): { code: string; status: string }[] {
  const text = readFileSync(join(projectRoot, "docs/errors.md"), "utf8");
  return [...text.matchAll(/^\| `(WP_[A-Z0-9_]+)` \| ([^|]*) \|/gm)].map((match) => ({
    code: match[1]!,
    status: match[2]!.trim(),
  }));
}

describe("docs/errors.md", () => {
  it("lists exactly the codes in src", () => {
    const documented = documentedRows().map((row) => row.code);
    expect([...documented].sort()).toEqual(codesInSource(join(projectRoot, "src")));
  });

  it("lists each code once", () => {
    const documented = documentedRows().map((row) => row.code);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it("gives each code an HTTP status", () => {
    for (const row of documentedRows()) expect(row.status, row.code).toMatch(/^[1-5][0-9]{2}$/);
  });
});
