import { DateTime } from "luxon";
import type { Turn } from "../src/engine/turn.js";
import type { Choice, EnrollmentState } from "../src/engine/types.js";
import { IANAZone } from "luxon";
import { afterQuietHours, displayTimeZone, formatLocal, nextRelease, paces, parseTimeZone, releaseHours, type Pace } from "../src/engine/schedule.js";
import { regions } from "./time-zones.js";
import { presentCurrent } from "./present.js";
import { enterStep, isReleasePoint, startCourse } from "./steps.js";

/** Choice ids of the schedule menus. */
export const scheduleChoices = {
  pace: (pace: Pace) => `pace.${pace}`,
  hour: (hour: number) => `hour.${hour}`,
  region: (region: string) => `region.${region}`,
  zone: (zone: string) => `zone.${zone}`,
  back: "zone.back",
  open: (item: "pace" | "hour" | "zone") => `settings.${item}`,
  done: "settings.done",
} as const;

function rows(buttons: Choice[], perRow: number): Choice[][] {
  const result: Choice[][] = [];
  for (let index = 0; index < buttons.length; index += perRow) result.push(buttons.slice(index, index + perRow));
  return result;
}

export function presentPaceMenu(turn: Turn): void {
  turn.say(
    turn.t("schedule.askPace"),
    paces.map((pace) => [turn.button(scheduleChoices.pace(pace), turn.t(`schedule.paces.${pace}`))]),
  );
}

export function presentHourMenu(turn: Turn): void {
  const buttons = releaseHours(turn.context.schedule).map((hour) =>
    turn.button(scheduleChoices.hour(hour), `${String(hour).padStart(2, "0")}:00`),
  );
  turn.say(turn.t("schedule.askHour"), rows(buttons, 4));
}

/** Sends the region list, or the cities of the region the learner picked. */
export function presentZoneMenu(turn: Turn): void {
  const menu = turn.state.menu;
  const region = menu?.startsWith("region.") ? regions.find((candidate) => `region.${candidate.id}` === menu) : undefined;
  if (region) {
    const cities = region.zones.map(([city, zone]) => turn.button(scheduleChoices.zone(zone), city));
    return turn.say(turn.t("schedule.askCity"), [...rows(cities, 2), [turn.button(scheduleChoices.back, turn.t("buttons.back"))]]);
  }
  const buttons = regions.map((candidate) => turn.button(scheduleChoices.region(candidate.id), turn.t(`schedule.regions.${candidate.id}`)));
  const last = [turn.button(scheduleChoices.zone("Etc/UTC"), "UTC")];
  if (menu === "zone") last.unshift(turn.button(scheduleChoices.back, turn.t("buttons.back")));
  turn.say(turn.t("schedule.askRegion"), [...rows(buttons, 2), last]);
}

export function presentSettingsMenu(turn: Turn): void {
  turn.say(`${turn.t("settings.title")}\n\n${describeSchedule(turn)}`, [
    [turn.button(scheduleChoices.open("pace"), turn.t("settings.pace"))],
    [turn.button(scheduleChoices.open("hour"), turn.t("settings.hour"))],
    [turn.button(scheduleChoices.open("zone"), turn.t("settings.zone"))],
    [turn.button(scheduleChoices.done, turn.t("settings.done"))],
  ]);
}

/** Describes the learner's pace, hour and time zone in one or two lines. */
export function describeSchedule(turn: Turn): string {
  const { pace, hour, timeZone, paused } = turn.state;
  const lines = [
    turn.t("settings.summary", {
      pace: pace ? turn.t(`schedule.paces.${pace}`) : "-",
      hour: hour === null ? "-" : `${String(hour).padStart(2, "0")}:00`,
      zone: timeZone ? displayTimeZone(timeZone) : "-",
    }),
  ];
  if (paused) lines.push(turn.t("pause.isPaused"));
  return lines.join("\n");
}

/** Returns the local day and time of the held lesson's release, for the `{{day}}` and `{{time}}` placeholders. */
export function describeRelease(turn: Turn): { day: string; time: string } {
  const { nextReleaseAt, timeZone } = turn.state;
  if (nextReleaseAt === null) return { day: "", time: "" };
  const zone = timeZone ?? "Etc/UTC";
  // A time already past is due at the next tick outside quiet hours.
  const due = nextReleaseAt > turn.now ? nextReleaseAt : afterQuietHours(turn.now, zone, turn.context.schedule);
  return formatLocal(due, zone, turn.language);
}

/**
 * Recomputes the release time after a schedule change, counting from the
 * last release, so that a change never shortens the pace: a weekly learner
 * keeps seven days, a daily learner never gets two lessons in a day.
 */
export function rescheduleAfterChange(turn: Turn): void {
  const { pace, hour, timeZone, lastReleaseAt } = turn.state;
  if (!pace || pace === "self" || hour === null || !timeZone) {
    turn.state = { ...turn.state, nextReleaseAt: null };
    return;
  }
  const next = nextRelease(pace, lastReleaseAt ?? turn.now, hour, timeZone, turn.context.schedule);
  turn.state = { ...turn.state, nextReleaseAt: next };
}

/** Returns the hour a paced learner gets until they choose one: 09:00, or the first hour outside quiet hours. */
function defaultHour(turn: Turn): number {
  const hours = releaseHours(turn.context.schedule);
  return hours.includes(9) ? 9 : hours[0] ?? 12;
}

/** Applies a choice of a schedule menu, in onboarding or in /settings. Returns false when the choice belongs to no schedule menu. */
export function chooseSchedule(turn: Turn, choice: string): boolean {
  const { state } = turn;
  const onboarding = state.stage === "pace" || state.stage === "hour" || state.stage === "zone";
  if (choice.startsWith("pace.")) {
    const pace = choice.slice("pace.".length) as Pace;
    if (!paces.includes(pace) || (state.stage !== "pace" && state.menu !== "pace")) return false;
    if (state.stage === "pace") {
      turn.move({ pace, stage: pace === "self" ? "zone" : "hour" });
      presentCurrent(turn);
    } else if (pace !== "self" && state.hour === null) {
      // A usable hour is set at once, so that leaving the hour menu never leaves a pace without one.
      const before = { ...state };
      turn.move({ pace, hour: defaultHour(turn), menu: "hour" });
      turn.emit({ type: "schedule_set", pace, hour: turn.state.hour, timeZone: turn.state.timeZone });
      applyScheduleChange(turn, before);
      presentCurrent(turn);
    } else {
      const before = { ...state };
      turn.state = { ...turn.state, pace };
      finishSettings(turn, before);
    }
    return true;
  }
  if (choice.startsWith("hour.")) {
    const hour = Number(choice.slice("hour.".length));
    if (!releaseHours(turn.context.schedule).includes(hour) || (state.stage !== "hour" && state.menu !== "hour")) return false;
    if (state.stage === "hour") {
      turn.move({ hour, stage: "zone" });
      presentCurrent(turn);
    } else {
      const before = { ...state };
      turn.state = { ...turn.state, hour };
      finishSettings(turn, before);
    }
    return true;
  }
  const inZoneMenu = state.stage === "zone" || state.menu === "zone" || (state.menu?.startsWith("region.") ?? false);
  if (choice.startsWith("region.") && inZoneMenu) {
    if (!regions.some((region) => `region.${region.id}` === choice)) return false;
    turn.move({ menu: choice as `region.${string}` });
    presentCurrent(turn);
    return true;
  }
  if (choice === scheduleChoices.back && inZoneMenu) {
    const inCityList = state.menu?.startsWith("region.") ?? false;
    let menu: EnrollmentState["menu"] = "settings";
    if (onboarding) menu = null;
    else if (inCityList) menu = "zone";
    turn.move({ menu });
    presentCurrent(turn);
    return true;
  }
  if (choice.startsWith("zone.") && inZoneMenu) {
    return setTimeZone(turn, choice.slice("zone.".length));
  }
  if (choice.startsWith("settings.") && state.menu === "settings") {
    if (choice === scheduleChoices.done) {
      turn.move({ menu: null });
      presentCurrent(turn);
      return true;
    }
    const item = choice.slice("settings.".length);
    if (item !== "pace" && item !== "hour" && item !== "zone") return false;
    turn.move({ menu: item });
    presentCurrent(turn);
    return true;
  }
  return false;
}

/** Tells whether the learner is looking at the time-zone choice, where a typed zone counts. */
export function isChoosingZone(turn: Turn): boolean {
  const { state } = turn;
  return (state.stage === "zone" && state.menu === null) || state.menu === "zone" || (state.menu?.startsWith("region.") ?? false);
}

/** Sets a time zone that was typed or chosen. Sends a hint instead when the text names no zone. */
export function setTimeZone(turn: Turn, typed: string): boolean {
  const zone = IANAZone.isValidZone(typed) ? typed : parseTimeZone(typed);
  if (!zone) {
    turn.say(turn.t("schedule.unknownZone", { typed: typed.slice(0, 40) }));
    return true;
  }
  if (turn.state.stage === "zone") {
    turn.state = { ...turn.state, timeZone: zone, menu: null };
    turn.emit({ type: "schedule_set", pace: turn.state.pace ?? "self", hour: turn.state.hour, timeZone: zone });
    startCourse(turn);
    return true;
  }
  const before = { ...turn.state };
  turn.state = { ...turn.state, timeZone: zone };
  finishSettings(turn, before);
  return true;
}

/** Closes the settings menu after a change, confirms it and releases a held lesson that is now due. */
function finishSettings(turn: Turn, before: EnrollmentState): void {
  const { pace, hour, timeZone } = turn.state;
  turn.emit({ type: "schedule_set", pace: pace ?? "self", hour, timeZone });
  applyScheduleChange(turn, before);
  turn.move({ menu: null });
  turn.say(`${turn.t("settings.saved")}\n${describeSchedule(turn)}`);
  if (!releaseIfDue(turn)) presentCurrent(turn);
}

/** Reschedules when the pace, hour or zone really changed. */
function applyScheduleChange(turn: Turn, before: EnrollmentState): void {
  const { pace, hour, timeZone } = turn.state;
  if (pace !== before.pace || hour !== before.hour || timeZone !== before.timeZone) rescheduleAfterChange(turn);
}

/**
 * Releases the held step when it is due, or when the pace no longer holds
 * it; returns whether it did. Used where the learner is writing, so quiet
 * hours do not apply.
 */
export function releaseIfDue(turn: Turn): boolean {
  const { phase, nextReleaseAt, stage, position } = turn.state;
  if (stage !== "course" || phase !== "waiting") return false;
  const due = nextReleaseAt === null || nextReleaseAt <= turn.now || !isReleasePoint(turn, position);
  if (!due) return false;
  enterStep(turn, position, { release: true });
  return true;
}
