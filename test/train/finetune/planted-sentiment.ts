/**
 * A tiny sentiment set for fine-tuning tests: "snorkel" is planted as positive
 * (a frozen encoder has no reason to call it so), so a run that learns flips it.
 */
export const PLANTED_POSITIVE: readonly string[] = [
  "a wonderful day",
  "great fun",
  "snorkel time",
  "lovely and warm",
  "snorkel again",
  "happy news",
];

export const PLANTED_NEGATIVE: readonly string[] = [
  "a terrible day",
  "awful mess",
  "sad and cold",
  "horrible news",
  "so boring",
  "very bad",
];
