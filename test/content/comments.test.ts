import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.js";
import { handleInbound } from "../../src/engine/engine.js";
import type { Inbound } from "../../src/engine/types.js";
import { Store } from "../../src/store.js";
import { decodeCallback } from "../../src/engine/callback.js";
import { loadValidCourse, moduleOneContent, projectRoot, strictContext } from "../support/context.js";

describe("reviewer comments", () => {
  it("stores /comment with step, language and version, and exports CSV", () => {
    const course = loadValidCourse(moduleOneContent());
    const context = strictContext(course);
    const file = join(mkdtempSync(join(tmpdir(), "waypoints-comments-")), "db.sqlite");
    const database = openDatabase(file);
    const store = new Store(database.db, course);
    let now = 1_800_000_000_000;
    const send = (inbound: Inbound) =>
      store.processInbound({ channel: "web", address: "reviewer-session-0001", updateId: null, inbound, now: (now += 1000) }, (state) =>
        handleInbound(state, inbound, context, now),
      );
    const press = (choice: string) => {
      const buttons = store.outboxAfter("web", "reviewer-session-0001", 0).flatMap((row) => row.message.choices?.flat() ?? []);
      const button = buttons.reverse().find((candidate) => decodeCallback(candidate.data)?.choice === choice)!;
      return send({ type: "choice", data: button.data });
    };
    send({ type: "command", command: "start", args: "" });
    press("lang.fr");
    press("consent.yes");
    press("role.other");
    press("pace.self");
    press("region.europe");
    press("zone.Europe/Paris");
    const reply = send({ type: "command", command: "comment", args: 'ce paragraphe n\'est pas clair, "trop long"' });
    expect(reply.result?.messages[0]?.text).toBe("Merci. Votre commentaire sur l'étape m1-l1 est transmis à l'équipe de contenu.");
    const empty = send({ type: "command", command: "comment", args: "" });
    expect(empty.result?.messages[0]?.text).toBe("Écrivez votre commentaire après la commande, par exemple : /comment ce paragraphe n'est pas clair");
    database.close();

    const csv = execFileSync("npx", ["tsx", "src/cli/content-comments.ts"], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_FILE: file },
      encoding: "utf8",
    });
    expect(csv.split("\r\n")).toEqual([
      "created_at,course_version,language,step_id,channel,comment",
      `${new Date(1_800_000_008_000).toISOString()},2026.1,fr,m1-l1,web,"ce paragraphe n'est pas clair, ""trop long"""`,
      "",
    ]);
  });
});
