import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../support/context.js";

type Tree = { [key: string]: string | string[] | Tree };

function load(language: string): Tree {
  return JSON.parse(readFileSync(join(projectRoot, "locales", language, "translation.json"), "utf8")) as Tree;
}

/** Lists every key path with the placeholders of its string. */
function entries(tree: Tree, prefix = ""): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") result.set(path, [...value.matchAll(/\{\{(\w+)\}\}/g)].map((match) => match[1]!).sort());
    else if (Array.isArray(value)) result.set(path, []);
    else for (const [nested, placeholders] of entries(value, path)) result.set(nested, placeholders);
  }
  return result;
}

describe("locales", () => {
  const english = entries(load("en"));
  for (const language of ["fr", "es"]) {
    it(`${language} has every English key with the same placeholders`, () => {
      const translated = entries(load(language));
      expect([...translated.keys()].sort()).toEqual([...english.keys()].sort());
      for (const [key, placeholders] of english) {
        expect(translated.get(key), `${language}: ${key}`).toEqual(placeholders);
      }
    });
  }

  it("no command word belongs to two commands", () => {
    const owner = new Map<string, string>();
    for (const language of ["en", "fr", "es"]) {
      const words = load(language).words as Record<string, string[]>;
      for (const [command, list] of Object.entries(words)) {
        for (const word of list) {
          const previous = owner.get(word.toLowerCase());
          expect(previous === undefined || previous === command, `"${word}" is both ${previous} and ${command}`).toBe(true);
          owner.set(word.toLowerCase(), command);
        }
      }
    }
  });
});
