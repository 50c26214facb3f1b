import { DateTime, IANAZone } from "luxon";

/** The rate at which lessons are released. */
export type Pace = "daily" | "twice-daily" | "weekly" | "self";

export const paces: readonly Pace[] = ["daily", "twice-daily", "weekly", "self"];

/** Delivery rules that come from the settings, not from the learner. */
export interface ScheduleSettings {
  /** Local hour (0-23) at which quiet hours start; nothing is sent from then. */
  quietStart: number;
  /** Local hour (0-23) at which quiet hours end. */
  quietEnd: number;
  /** Days without a message from the learner before each reminder, in order: [3, 7] sends two. */
  reminderDays: readonly number[];
  /** Hours between the two releases of a twice-daily pace. */
  secondReleaseHours: number;
}

export const defaultSchedule: ScheduleSettings = {
  quietStart: 21,
  quietEnd: 8,
  reminderDays: [3, 7],
  secondReleaseHours: 6,
};

/** Tells whether a local hour falls in the quiet hours, which may wrap past midnight. */
export function isQuietHour(hour: number, settings: ScheduleSettings): boolean {
  const { quietStart, quietEnd } = settings;
  if (quietStart === quietEnd) return false;
  return quietStart < quietEnd ? hour >= quietStart && hour < quietEnd : hour >= quietStart || hour < quietEnd;
}

/** Tells whether an instant is inside quiet hours in a time zone. */
export function isQuietAt(instant: number, timeZone: string, settings: ScheduleSettings): boolean {
  return isQuietHour(DateTime.fromMillis(instant, { zone: timeZone }).hour, settings);
}

/** Returns the hours a learner may choose for releases: every hour outside quiet hours. */
export function releaseHours(settings: ScheduleSettings): number[] {
  return Array.from({ length: 24 }, (_, hour) => hour).filter((hour) => !isQuietHour(hour, settings));
}

/**
 * Returns the instant of `hour`:00 on a local date, in a time zone. When
 * daylight saving skips that hour, the result is the first instant after
 * the gap, so that the day still gets its release.
 */
export function localHourOn(date: DateTime, hour: number, timeZone: string): number {
  return DateTime.fromObject({ year: date.year, month: date.month, day: date.day, hour }, { zone: timeZone }).toMillis();
}

/**
 * Returns when the lesson after the one released at `releasedAt` is due.
 * Daily: the preferred hour on the next local day, so that a day is never
 * skipped or doubled across a daylight-saving change. Twice daily: the next
 * of the two daily slots. Weekly: the preferred hour seven local days later.
 * Returns null for the learner's own pace.
 */
export function nextRelease(pace: Pace, releasedAt: number, hour: number, timeZone: string, settings: ScheduleSettings): number | null {
  const local = DateTime.fromMillis(releasedAt, { zone: timeZone }).startOf("day");
  switch (pace) {
    case "self":
      return null;
    case "daily":
      return localHourOn(local.plus({ days: 1 }), hour, timeZone);
    case "weekly":
      return localHourOn(local.plus({ days: 7 }), hour, timeZone);
    case "twice-daily": {
      // Two releases a day need half the gap between them, so that a lesson
      // given early (at onboarding, or by /next) does not make a third that day.
      const earliest = releasedAt + (settings.secondReleaseHours * 60 * 60 * 1000) / 2;
      const slots = twiceDailySlots(hour, settings);
      for (const day of [0, 1, 2]) {
        for (const slot of slots) {
          const at = localHourOn(local.plus({ days: day }), slot, timeZone);
          if (at > earliest) return at;
        }
      }
      return localHourOn(local.plus({ days: 3 }), hour, timeZone);
    }
  }
}

/**
 * Returns the two local hours of a twice-daily pace: the preferred hour and
 * one `secondReleaseHours` later, or earlier when later falls in quiet hours
 * or past midnight. One hour alone when neither fits.
 */
export function twiceDailySlots(hour: number, settings: ScheduleSettings): number[] {
  const later = hour + settings.secondReleaseHours;
  if (later <= 23 && !isQuietHour(later, settings)) return [hour, later];
  const earlier = hour - settings.secondReleaseHours;
  if (earlier >= 0 && !isQuietHour(earlier, settings)) return [earlier, hour];
  return [hour];
}

/** Returns the end of the quiet hours that contain `instant`, or `instant` when it is outside them. */
export function afterQuietHours(instant: number, timeZone: string, settings: ScheduleSettings): number {
  const local = DateTime.fromMillis(instant, { zone: timeZone });
  if (!isQuietHour(local.hour, settings)) return instant;
  const day = local.hour >= settings.quietEnd ? local.plus({ days: 1 }) : local;
  return localHourOn(day, settings.quietEnd, timeZone);
}

/**
 * Offsets with minutes that have no Etc/GMT zone, mapped to a zone without
 * daylight saving that keeps the offset all year. Offsets used only by zones
 * with daylight saving (-03:30, +10:30, +12:45) are left out: those learners
 * choose a city.
 */
export const fractionalOffsets: Readonly<Record<string, string>> = {
  "-09:30": "Pacific/Marquesas",
  "+03:30": "Asia/Tehran",
  "+04:30": "Asia/Kabul",
  "+05:30": "Asia/Kolkata",
  "+05:45": "Asia/Kathmandu",
  "+06:30": "Asia/Yangon",
  "+08:45": "Australia/Eucla",
  "+09:30": "Australia/Darwin",
};

/** Names a zone for a learner: `UTC+2` for the inverted `Etc/GMT-2`, the IANA name otherwise. */
export function displayTimeZone(zone: string): string {
  if (zone === "Etc/UTC" || zone === "Etc/GMT") return "UTC";
  const match = /^Etc\/GMT([+-])(\d{1,2})$/.exec(zone);
  if (!match) return zone;
  return `UTC${match[1] === "+" ? "-" : "+"}${match[2]}`;
}

/**
 * Reads a typed time zone: an IANA name such as `Europe/Madrid`, or a UTC
 * offset such as `+2`, `UTC-5`, `GMT+05:30`. Returns an IANA zone, or null.
 * Whole-hour offsets become `Etc/GMT` zones, whose sign is inverted by the
 * IANA convention: UTC+2 is `Etc/GMT-2`.
 */
export function parseTimeZone(typed: string): string | null {
  const text = typed.trim();
  if (/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$/.test(text) && IANAZone.isValidZone(text)) return text;
  const match = /^(?:utc|gmt)?\s*([+-−])\s*(\d{1,2})(?::?(\d{2}))?$/i.exec(text);
  if (!match) return /^(utc|gmt)$/i.test(text) ? "Etc/UTC" : null;
  const sign = match[1] === "+" ? "+" : "-";
  const hours = Number(match[2]);
  const minutes = Number(match[3] ?? "0");
  if (minutes === 0) {
    if (hours === 0) return "Etc/UTC";
    if ((sign === "+" && hours > 14) || (sign === "-" && hours > 12)) return null;
    return `Etc/GMT${sign === "+" ? "-" : "+"}${hours}`;
  }
  return fractionalOffsets[`${sign}${String(hours).padStart(2, "0")}:${String(minutes).padStart(2, "0")}`] ?? null;
}

/** Formats an instant as the local weekday, in the learner's language, and the 24-hour time. */
export function formatLocal(instant: number, timeZone: string, language: string): { day: string; time: string } {
  const local = DateTime.fromMillis(instant, { zone: timeZone }).setLocale(language);
  return { day: local.toFormat("cccc"), time: local.toFormat("HH:mm") };
}
