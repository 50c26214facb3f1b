/** The roles a learner can pick at onboarding; each has a label in `roles.<id>` of the locales. */
export const roles = [
  "humanitarian",
  "social-worker",
  "community-worker",
  "lawyer",
  "psychologist",
  "child-protection",
  "teacher",
  "health-worker",
  "border-official",
  "judge-policy",
  "volunteer",
  "other",
] as const;
