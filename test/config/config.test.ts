import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

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
});
