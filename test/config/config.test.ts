import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, configSchema, loadConfig } from "../../src/config.js";
import { projectRoot } from "../support/context.js";

describe("settings", () => {
  it("uses the embedded defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ HOST: "127.0.0.1", PORT: 3000, DATABASE_FILE: "data/waypoints.sqlite", WEB_CHAT_ENABLED: true });
    expect(config.TELEGRAM_BOT_TOKEN).toBeUndefined();
  });

  const cases: [Record<string, string>, string][] = [
    [{ PORT: "abc" }, 'PORT="abc": expected a number'],
    [{ PORT: "70000" }, 'PORT="70000": expected a port from 0 to 65535'],
    [{ LOG_LEVEL: "loud" }, 'LOG_LEVEL="loud": Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"'],
    [{ WEB_CHAT_ENABLED: "maybe" }, 'WEB_CHAT_ENABLED="maybe": expected true or false'],
    [{ TELEGRAM_BOT_TOKEN: "nonsense" }, "TELEGRAM_BOT_TOKEN=(hidden): expected a token from @BotFather, such as 123456:ABC-DEF..."],
    [{ PUBLIC_URL: "ftp://example.org" }, 'PUBLIC_URL="ftp://example.org": expected an http:// or https:// URL such as https://course.example.org'],
  ];
  for (const [env, line] of cases) {
    it(`rejects ${Object.keys(env)[0]}=${Object.values(env)[0]}`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(line);
    });
  }

  it("lists every bad variable and the fix", () => {
    try {
      loadConfig({ PORT: "abc", LOG_LEVEL: "loud" });
      expect.unreachable("loadConfig accepted bad settings");
    } catch (error) {
      const message = (error as Error).message;
      expect(message.split("\n")[0]).toBe("invalid settings:");
      expect(message).toContain("PORT=");
      expect(message).toContain("LOG_LEVEL=");
      expect(message.split("\n").at(-1)).toBe("Fix them in the environment or in .env, as .env.example describes.");
    }
  });

  it(".env.example documents every setting", () => {
    const example = readFileSync(join(projectRoot, ".env.example"), "utf8");
    const documented = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]);
    expect([...new Set(documented)].sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it("reads reminder days and quiet hours", () => {
    expect(loadConfig({ REMINDER_DAYS: "2, 5, 9", QUIET_HOURS_START: "22" })).toMatchObject({ REMINDER_DAYS: [2, 5, 9], QUIET_HOURS_START: 22 });
    expect(() => loadConfig({ REMINDER_DAYS: "7,3" })).toThrow('REMINDER_DAYS="7,3": expected increasing days above 0, such as 3,7');
    expect(() => loadConfig({ QUIET_HOURS_END: "24" })).toThrow('QUIET_HOURS_END="24": expected an hour from 0 to 23');
  });
});
