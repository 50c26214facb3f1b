import { DateTime } from "luxon";
import { beforeAll, describe, expect, it } from "vitest";
import type { Course } from "../../src/content/model.js";
import { handleInbound } from "../../src/engine/engine.js";
import { defaultSchedule, fractionalOffsets, nextRelease, parseTimeZone, type Pace } from "../../src/engine/schedule.js";
import type { EngineContext } from "../../src/engine/types.js";
import { EngineLearner } from "../support/learner.js";
import { join } from "node:path";
import { loadValidCourse, moduleOneContent, projectRoot, strictContext } from "../support/context.js";

let course: Course;
let context: EngineContext;

beforeAll(() => {
  course = loadValidCourse(moduleOneContent());
  context = strictContext(course);
});

const at = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();
const local = (instant: number | null, zone: string) => DateTime.fromMillis(instant ?? 0, { zone }).toFormat("yyyy-MM-dd HH:mm");

/** Onboards a learner with a pace, an hour and a zone, at a local time. */
function enrolled(pace: Pace, zone: string, startIso: string, hour = 9, engineContext = context): EngineLearner {
  const learner = new EngineLearner(engineContext, at(startIso, zone));
  learner.joinAs("en", "teacher");
  learner.press(`pace.${pace}`);
  if (pace !== "self") learner.press(`hour.${hour}`);
  learner.text(zone);
  return learner;
}

/** Taps Next and picks the first option until the engine keeps the next lesson back or the module ends. */
function finishUnit(learner: EngineLearner): void {
  let guard = 0;
  do {
    if (learner.state?.phase === "question") learner.send({ type: "choice", data: learner.lastChoices()[0]!.data });
    else if (learner.state?.phase === "reflection") learner.press("skip");
    else learner.press("next");
  } while (learner.state?.phase !== "waiting" && learner.state?.phase !== "module_end" && guard++ < 50);
}

describe("release times", () => {
  const cases: { pace: Pace; zone: string; from: string; expected: string }[] = [
    { pace: "daily", zone: "Europe/Madrid", from: "2026-03-02T10:15", expected: "2026-03-03 09:00" },
    { pace: "daily", zone: "America/Bogota", from: "2026-03-02T07:00", expected: "2026-03-03 09:00" },
    { pace: "daily", zone: "Asia/Kolkata", from: "2026-03-02T23:30", expected: "2026-03-03 09:00" },
    { pace: "twice-daily", zone: "Africa/Nairobi", from: "2026-03-02T09:00", expected: "2026-03-02 15:00" },
    { pace: "twice-daily", zone: "Africa/Nairobi", from: "2026-03-02T15:00", expected: "2026-03-03 09:00" },
    { pace: "weekly", zone: "Europe/Paris", from: "2026-03-02T18:00", expected: "2026-03-09 09:00" },
    // Daylight saving starts in Europe on 29 March 2026 and ends on 25 October.
    { pace: "daily", zone: "Europe/Berlin", from: "2026-03-28T09:00", expected: "2026-03-29 09:00" },
    { pace: "daily", zone: "Europe/Berlin", from: "2026-10-24T09:00", expected: "2026-10-25 09:00" },
    // In New York the clocks go from 02:00 to 03:00 on 8 March 2026.
    { pace: "daily", zone: "America/New_York", from: "2026-03-07T09:00", expected: "2026-03-08 09:00" },
  ];
  for (const testCase of cases) {
    it(`${testCase.pace} from ${testCase.from} in ${testCase.zone}`, () => {
      const next = nextRelease(testCase.pace, at(testCase.from, testCase.zone), 9, testCase.zone, defaultSchedule);
      expect(local(next, testCase.zone)).toBe(testCase.expected);
    });
  }

  it("an hour skipped by daylight saving moves past the gap", () => {
    const next = nextRelease("daily", at("2026-03-07T02:30", "America/New_York"), 2, "America/New_York", defaultSchedule);
    expect(local(next, "America/New_York")).toBe("2026-03-08 03:00");
  });

  it("a daily pace gives one release per local day across a change", () => {
    const zone = "Europe/Berlin";
    let instant = at("2026-03-26T09:00", zone);
    const days: string[] = [];
    for (let index = 0; index < 6; index++) {
      instant = nextRelease("daily", instant, 9, zone, defaultSchedule)!;
      days.push(local(instant, zone));
    }
    expect(days).toEqual(["2026-03-27 09:00", "2026-03-28 09:00", "2026-03-29 09:00", "2026-03-30 09:00", "2026-03-31 09:00", "2026-04-01 09:00"]);
  });

  const zones: [string, string | null][] = [
    ["+2", "Etc/GMT-2"], ["UTC-5", "Etc/GMT+5"], ["GMT+05:30", "Asia/Kolkata"], ["utc", "Etc/UTC"],
    ["Europe/Madrid", "Europe/Madrid"], ["+15", null], ["Mars/Olympus", null], ["soon", null],
  ];
  for (const [typed, zone] of zones) {
    it(`reads "${typed}" as ${zone ?? "no zone"}`, () => {
      expect(parseTimeZone(typed)).toBe(zone);
    });
  }
});

describe("pace", () => {
  it("self pace never holds a lesson", () => {
    const learner = enrolled("self", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    expect(learner.state?.phase).toBe("module_end");
    expect(learner.eventsOf("lesson_held")).toHaveLength(0);
  });

  it("daily pace holds the second lesson until the next day", () => {
    const learner = enrolled("daily", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    expect(learner.state?.phase).toBe("waiting");
    expect(course.order[learner.state!.position]?.stepId).toBe("m1-l2");
    expect(local(learner.state!.nextReleaseAt, "Europe/Madrid")).toBe("2026-03-03 09:00");
    expect(learner.transcript.at(-1)?.text).toBe("✔️ Well done, that was today's lesson. The next one comes on Tuesday at 09:00. Want it now? Tap the button or send /next.");
  });

  it("a release before its time does nothing", () => {
    const learner = enrolled("daily", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    learner.now = at("2026-03-03T08:59", "Europe/Madrid");
    const replies = learner.send({ type: "release" });
    expect(replies).toEqual([]);
    expect(learner.state?.phase).toBe("waiting");
  });

  it("a due release sends the next lesson and plans the one after", () => {
    const learner = enrolled("daily", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    learner.now = at("2026-03-03T09:00", "Europe/Madrid");
    const replies = learner.send({ type: "release" });
    expect(replies[0]?.text.startsWith("**Lesson · ")).toBe(true);
    expect(learner.eventsOf("lesson_released").map((event) => event.stepId)).toEqual(["m1-l2"]);
    expect(local(learner.state!.nextReleaseAt, "Europe/Madrid")).toBe("2026-03-04 09:00");
  });

  it("/next releases a held lesson at once", () => {
    const learner = enrolled("daily", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    learner.command("next");
    expect(learner.state?.phase).toBe("reading");
    expect(course.order[learner.state!.position]?.stepId).toBe("m1-l2");
  });

  it("weekly pace holds only at a module start", () => {
    const learner = enrolled("weekly", "Europe/Paris", "2026-03-02T10:00");
    finishUnit(learner);
    expect(learner.state?.phase).toBe("module_end");
    expect(learner.eventsOf("lesson_held")).toHaveLength(0);
  });

  it("/pause stops releases and /resume restarts them", () => {
    const learner = enrolled("daily", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    learner.command("pause");
    expect(learner.transcript.at(-1)?.text).toBe("Paused. No lessons or reminders will come until you send /resume. /next still gives you the next lesson.");
    learner.now = at("2026-03-03T09:00", "Europe/Madrid");
    expect(learner.send({ type: "release" })).toEqual([]);
    const replies = learner.command("resume");
    expect(replies.map((reply) => reply.text.split("\n")[0])).toEqual([
      "Welcome back. Here is where you are.",
      expect.stringMatching(/^\*\*Lesson · /),
    ]);
    expect(learner.send({ type: "release" })).toEqual([]);
  });

  it("/settings changes the pace and releases a lesson that is now due", () => {
    const learner = enrolled("daily", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    learner.command("settings");
    learner.press("settings.pace");
    const replies = learner.press("pace.self");
    expect(replies[0]?.text).toBe("Saved.\nPace: At my own pace · Time: 09:00 · Time zone: Europe/Madrid");
    expect(learner.state).toMatchObject({ phase: "reading", pace: "self", nextReleaseAt: null, menu: null });
  });

  it("an unknown typed zone is explained", () => {
    const learner = new EngineLearner(context);
    learner.joinAs("es", "teacher");
    learner.press("pace.self");
    const [reply] = learner.text("Marte");
    expect(reply?.text).toBe("«Marte» no es una zona horaria que conozca. Elija una ciudad o escriba una diferencia con UTC como +2, -5 o +05:30.");
    expect(learner.state?.stage).toBe("zone");
  });
});

describe("reminders", () => {
  it("sends at most the configured reminders, then goes dormant", () => {
    const learner = enrolled("self", "Europe/Madrid", "2026-03-02T10:00");
    const [first] = learner.send({ type: "remind" });
    expect(first?.text).toBe("👋 Your course is waiting for you. A few minutes is enough to go on.");
    expect(first?.choices?.[0]?.[0]?.label).toBe("Continue");
    const [last] = learner.send({ type: "remind" });
    expect(last?.text.startsWith("👋 A last reminder")).toBe(true);
    expect(learner.state).toMatchObject({ remindersSent: 2, dormant: true });
    expect(learner.send({ type: "remind" })).toEqual([]);
    expect(learner.eventsOf("reminder_sent")).toHaveLength(2);
    expect(learner.eventsOf("enrollment_dormant")).toHaveLength(1);
  });

  it("a message from the learner wakes a dormant enrollment", () => {
    const learner = enrolled("self", "Europe/Madrid", "2026-03-02T10:00");
    learner.send({ type: "remind" });
    learner.send({ type: "remind" });
    learner.now += 1000;
    learner.press("resume");
    expect(learner.state).toMatchObject({ remindersSent: 0, dormant: false, idleSince: learner.now });
    expect(learner.eventsOf("enrollment_reactivated")).toHaveLength(1);
  });

  it("no reminder while a lesson is held", () => {
    const learner = enrolled("daily", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    expect(learner.send({ type: "remind" })).toEqual([]);
  });
});

describe("stop", () => {
  for (const [language, word, confirmation] of [
    ["en", "STOP", "You will get no more messages from this course. Your progress is kept: send /start at any time to continue."],
    ["fr", "arrêter", "Vous ne recevrez plus de messages de cette formation. Votre progression est conservée : envoyez /start à tout moment pour continuer."],
    ["es", "parar", "No recibirá más mensajes de este curso. Su avance se conserva: envíe /start cuando quiera para continuar."],
  ] as const) {
    it(`"${word}" stops every send in ${language} until /start`, () => {
      const learner = new EngineLearner(context);
      learner.command("start");
      learner.press(`lang.${language}`);
      const [reply] = learner.text(word);
      expect(reply?.text).toBe(confirmation);
      expect(learner.eventsOf("sends_stopped")).toHaveLength(1);
      expect(learner.text("hello")).toEqual([]);
      expect(learner.command("help")).toEqual([]);
      expect(learner.send({ type: "remind" })).toEqual([]);
      const [back] = learner.command("start");
      expect(back?.text.length).toBeGreaterThan(0);
      expect(learner.state?.stopped).toBe(false);
    });
  }

  it("a stopped learner gets no release", () => {
    const learner = enrolled("daily", "Europe/Madrid", "2026-03-02T10:00");
    finishUnit(learner);
    learner.command("stop");
    learner.now = at("2026-03-04T09:00", "Europe/Madrid");
    expect(handleInbound(learner.state, { type: "release" }, context, learner.now).messages).toEqual([]);
  });
});

describe("schedule changes and menus", () => {
  const zone = "Europe/Madrid";

  it("a menu left open does not hold a release back", () => {
    const learner = enrolled("daily", zone, "2026-03-02T10:00");
    finishUnit(learner);
    learner.command("settings");
    learner.now = at("2026-03-03T09:00", zone);
    const [lesson] = learner.send({ type: "release" });
    expect(lesson?.text.startsWith("**Lesson · ")).toBe(true);
    expect(learner.state).toMatchObject({ menu: null, phase: "reading" });
  });

  it("/next inside a menu closes it and gives the held lesson", () => {
    const learner = enrolled("daily", zone, "2026-03-02T10:00");
    finishUnit(learner);
    learner.command("settings");
    learner.press("settings.zone");
    learner.command("next");
    expect(learner.state).toMatchObject({ menu: null, phase: "reading" });
  });

  it("changing the zone keeps a weekly learner's seven days", () => {
    const learner = enrolled("weekly", zone, "2026-03-02T10:00");
    const firstRelease = learner.state!.lastReleaseAt;
    learner.command("settings");
    learner.press("settings.zone");
    learner.press("region.europe");
    learner.press("zone.Europe/Paris");
    expect(local(learner.state!.nextReleaseAt, "Europe/Paris")).toBe("2026-03-09 09:00");
    expect(learner.state!.lastReleaseAt).toBe(firstRelease);
  });

  it("a later hour never gives a daily learner a second lesson that day", () => {
    const learner = enrolled("daily", zone, "2026-03-02T09:00");
    finishUnit(learner);
    learner.command("settings");
    learner.press("settings.hour");
    learner.press("hour.18");
    expect(local(learner.state!.nextReleaseAt, zone)).toBe("2026-03-03 18:00");
    expect(learner.state?.phase).toBe("waiting");
  });

  it("daily to weekly releases the held lesson", () => {
    const fullCourse = loadValidCourse(join(projectRoot, "content"));
    const learner = enrolled("daily", zone, "2026-03-02T10:00", 9, strictContext(fullCourse));
    finishUnit(learner);
    learner.command("settings");
    learner.press("settings.pace");
    learner.press("pace.weekly");
    expect(learner.state?.phase).toBe("reading");
    expect(local(learner.state!.nextReleaseAt, zone)).toBe("2026-03-09 09:00");
    finishUnit(learner);
    expect(learner.state?.phase).toBe("module_end");
    learner.press("next");
    expect(learner.state?.phase).toBe("waiting");
    expect(fullCourse.order[learner.state!.position]?.stepId).toBe("m2-l1");
  });

  it("a learner who leaves the hour menu keeps a usable hour", () => {
    const learner = enrolled("self", zone, "2026-03-02T10:00");
    learner.command("settings");
    learner.press("settings.pace");
    learner.press("pace.daily");
    learner.command("next");
    expect(learner.state).toMatchObject({ pace: "daily", hour: 9, menu: null });
    expect(local(learner.state!.nextReleaseAt, zone)).toBe("2026-03-03 09:00");
  });

  it("twice a day from 15:00 puts the second lesson in the morning", () => {
    const next = nextRelease("twice-daily", at("2026-03-02T15:00", zone), 15, zone, defaultSchedule);
    expect(local(next, zone)).toBe("2026-03-03 09:00");
    const after = nextRelease("twice-daily", next!, 15, zone, defaultSchedule);
    expect(local(after, zone)).toBe("2026-03-03 15:00");
  });

  it("twice a day gives no third lesson on the first day", () => {
    const learner = enrolled("twice-daily", zone, "2026-03-02T08:30");
    expect(local(learner.state!.nextReleaseAt, zone)).toBe("2026-03-02 15:00");
  });

  it("/resume after a month releases the overdue lesson at once", () => {
    const learner = enrolled("daily", zone, "2026-03-02T10:00");
    finishUnit(learner);
    learner.command("pause");
    learner.now = at("2026-04-02T22:55", zone);
    const replies = learner.command("resume");
    expect(replies[1]?.text.startsWith("**Lesson · ")).toBe(true);
  });

  it("shows a typed offset with its usual sign", () => {
    const learner = new EngineLearner(context);
    learner.joinAs("en", "teacher");
    learner.press("pace.self");
    learner.text("+2");
    const [settings] = learner.command("settings");
    expect(settings?.text).toBe("**Your settings**\n\nPace: At my own pace · Time: - · Time zone: UTC+2");
  });

  it("the zone menu of /settings goes back to the settings", () => {
    const learner = enrolled("self", zone, "2026-03-02T10:00");
    learner.command("settings");
    learner.press("settings.zone");
    const [back] = learner.press("zone.back");
    expect(back?.text.startsWith("**Your settings**")).toBe(true);
    expect(learner.state?.menu).toBe("settings");
  });

  it("the language menu at the zone step does not read a zone", () => {
    const learner = new EngineLearner(context);
    learner.joinAs("en", "teacher");
    learner.press("pace.self");
    learner.command("language");
    learner.text("+2");
    expect(learner.state).toMatchObject({ stage: "zone", timeZone: null, menu: "language" });
  });

  for (const typed of ["Arrêter.", "¡Parar!", "Stop!"]) {
    it(`"${typed}" stops sends`, () => {
      const learner = enrolled("self", zone, "2026-03-02T10:00");
      learner.text(typed);
      expect(learner.state?.stopped).toBe(true);
    });
  }

  it("/arrêter runs the stop command", () => {
    const learner = enrolled("self", zone, "2026-03-02T10:00");
    learner.command("arrêter");
    expect(learner.state?.stopped).toBe(true);
  });
});

describe("fixed offsets", () => {
  for (const [offset, zoneName] of Object.entries(fractionalOffsets)) {
    it(`${offset} maps to ${zoneName} all year`, () => {
      const minutes = (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4))) * (offset.startsWith("-") ? -1 : 1);
      expect(DateTime.fromISO("2026-01-15T12:00", { zone: zoneName }).offset).toBe(minutes);
      expect(DateTime.fromISO("2026-07-15T12:00", { zone: zoneName }).offset).toBe(minutes);
    });
  }
});

