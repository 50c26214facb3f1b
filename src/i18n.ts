import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import i18next, { type i18n, type Resource } from "i18next";
import type { Translate } from "./engine/types.js";

/** Interface strings for every language found in the locales folder. */
export interface Locales {
  languages: string[];
  t: Translate;
  /** Each language's name in that language, from its `languageName` string. */
  languageNames: Record<string, string>;
  /** Plain words that run a command, lowercased, across all languages. */
  commandWords: Map<string, string>;
  /** Tells whether a key has a string in a language, without falling back. */
  exists: (language: string, key: string) => boolean;
  /** Returns a nested resource such as the list of words for a command. */
  resource: (language: string, key: string) => unknown;
}

/** Loads `locales/<lng>/translation.json` for every language folder. */
export function loadLocales(localesDir: string, fallbackLanguage = "en"): Locales {
  const languages = readdirSync(localesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const resources: Resource = {};
  for (const language of languages) {
    const file = join(localesDir, language, "translation.json");
    try {
      resources[language] = { translation: JSON.parse(readFileSync(file, "utf8")) };
    } catch (cause) {
      throw new Error(`invalid locale file ${file}: ${(cause as Error).message}`, { cause });
    }
  }

  const instance: i18n = i18next.createInstance();
  void instance.init({
    resources,
    lng: fallbackLanguage,
    fallbackLng: fallbackLanguage,
    initAsync: false,
    interpolation: { escapeValue: false },
    returnNull: false,
  });

  const t: Translate = (language, key, values) =>
    instance.getFixedT(language)(key, values ?? {}) as string;
  const resource = (language: string, key: string): unknown =>
    instance.getResource(language, "translation", key);

  const languageNames: Record<string, string> = {};
  const commandWords = new Map<string, string>();
  for (const language of languages) {
    languageNames[language] = t(language, "languageName");
    const words = resource(language, "words") as Record<string, string[]> | undefined;
    for (const [command, list] of Object.entries(words ?? {})) {
      for (const word of list) commandWords.set(word.toLocaleLowerCase(), command);
    }
  }
  const exists = (language: string, key: string): boolean =>
    instance.exists(key, { lng: language, fallbackLng: false });
  return { languages, t, languageNames, commandWords, resource, exists };
}
