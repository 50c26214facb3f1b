import type { EnrollmentState } from "./types.js";

/** Returns the state of an enrollment that has just begun onboarding. */
export function freshState(): EnrollmentState {
  return {
    language: null,
    role: null,
    stage: "language",
    position: 0,
    part: 0,
    phase: "reading",
    menu: null,
    prompt: 1,
    answers: {},
    skipped: [],
    pace: null,
    hour: null,
    timeZone: null,
    paused: false,
    stopped: false,
    dormant: false,
    nextReleaseAt: null,
    lastReleaseAt: null,
    remindersSent: 0,
    idleSince: null,
  };
}
