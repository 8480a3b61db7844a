/**
 * @module apps/social/timestamps
 * Timestamps of social posts and the time buckets trends are counted in.
 * Accepted: ISO 8601 dates and date-times (`2015-02-24`, `2015-02-24T11:35:52Z`,
 * `…+08:00`, fractions of a second), the same with a space and an offset such
 * as Twitter exports write (`2015-02-24 11:35:52 -0800`), and epoch seconds or
 * milliseconds (numbers or digit strings; 12+ digits read as milliseconds).
 * The written offset is kept: buckets are cut on the wall clock of one zone,
 * the offset most posts carry (UTC for epochs and times written without one),
 * so a day of Pacific-time tweets is a Pacific day.
 */
import { EmbedkitError } from "../../errors.js";

/** A parsed timestamp: the instant and the offset it was written with (minutes east of UTC). */
export interface PostTime {
  readonly epochMs: number;
  /** `null` when the text gave no offset (epoch numbers, zone-less times). */
  readonly offsetMinutes: number | null;
}

/** Bucket sizes. */
export const BUCKETS = Object.freeze(["hour", "day", "week"] as const);
/** A bucket size. */
export type Bucket = (typeof BUCKETS)[number];

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const MIN_EPOCH_MS = Date.UTC(1970, 0, 1);
const MAX_EPOCH_MS = Date.UTC(2200, 0, 1);

function epoch(value: number): PostTime | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  // Seconds until year 5138 stay below 1e11; anything from 1e11 up is milliseconds.
  const epochMs = value >= 1e11 ? value : value * 1000;
  if (epochMs < MIN_EPOCH_MS || epochMs > MAX_EPOCH_MS) return undefined;
  return { epochMs: Math.round(epochMs), offsetMinutes: null };
}

/** Parse one timestamp; `undefined` when it is none of the accepted forms. */
export function parseTimestamp(value: unknown): PostTime | undefined {
  if (typeof value === "number") return epoch(value);
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^\d{9,14}(\.\d+)?$/.test(text)) return epoch(Number(text));
  const match = ISO.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h = "0", mi = "0", s = "0", fraction = "", zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, Number(`0.${fraction || "0"}`) * 1000);
  const check = new Date(Date.UTC(year, month - 1, day));
  // Reject 2015-02-30 and 25:00 rather than letting Date roll them over.
  if (
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 60
  ) {
    return undefined;
  }
  let offsetMinutes: number | null = null;
  if (zone !== undefined) {
    if (zone === "Z" || zone === "z") offsetMinutes = 0;
    else {
      const digits = zone.slice(1).replace(":", "");
      const hours = Number(digits.slice(0, 2));
      const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
      if (hours > 14 || minutes > 59) return undefined;
      offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (hours * 60 + minutes);
    }
  }
  const epochMs = utc - (offsetMinutes ?? 0) * 60_000;
  if (epochMs < MIN_EPOCH_MS || epochMs > MAX_EPOCH_MS) return undefined;
  return { epochMs, offsetMinutes };
}

/** The offset most timestamps carry (0 when none carries one). */
export function dominantOffset(times: readonly PostTime[]): number {
  const counts = new Map<number, number>();
  for (const time of times) {
    if (time.offsetMinutes !== null)
      counts.set(time.offsetMinutes, (counts.get(time.offsetMinutes) ?? 0) + 1);
  }
  let best = 0;
  let bestCount = 0;
  for (const [offset, count] of counts) {
    if (count > bestCount || (count === bestCount && offset < best)) {
      best = offset;
      bestCount = count;
    }
  }
  return best;
}

/** The bucket size `auto` picks for a span: ≤ 3 days hourly, ≤ 120 days daily, else weekly. */
export function autoBucket(spanMs: number): Bucket {
  const day = 86_400_000;
  if (spanMs <= 3 * day) return "hour";
  if (spanMs <= 120 * day) return "day";
  return "week";
}

/** Most buckets a run may have (so a decade of hours is refused before work). */
export const MAX_BUCKETS = 20_000;

/** An offset as ISO 8601 writes it (`Z`, `-08:00`). */
export function formatOffset(offsetMinutes: number): string {
  if (offsetMinutes === 0) return "Z";
  const sign = offsetMinutes < 0 ? "-" : "+";
  const absolute = Math.abs(offsetMinutes);
  return `${sign}${String(Math.floor(absolute / 60)).padStart(2, "0")}:${String(absolute % 60).padStart(2, "0")}`;
}

/** Time buckets on the wall clock of one zone. */
export interface BucketClock {
  readonly bucket: Bucket;
  readonly offsetMinutes: number;
  /** Start (epoch ms) of the bucket holding `epochMs`. */
  startOf(epochMs: number): number;
  /** The bucket after the one starting at `start`. */
  next(start: number): number;
  /** ISO 8601 label of a bucket start in the zone (`2015-02-24T00:00-08:00`; days as `2015-02-24`). */
  label(start: number): string;
}

/** Create the bucket clock of a size and zone (weeks start on Monday). */
export function createBucketClock(bucket: Bucket, offsetMinutes: number): BucketClock {
  const shift = offsetMinutes * 60_000;
  const size = bucket === "hour" ? 3_600_000 : bucket === "day" ? 86_400_000 : 7 * 86_400_000;
  // 1970-01-05 was a Monday: weeks are aligned to it.
  const origin = bucket === "week" ? 4 * 86_400_000 : 0;
  return {
    bucket,
    offsetMinutes,
    startOf(epochMs) {
      const local = epochMs + shift - origin;
      return Math.floor(local / size) * size + origin - shift;
    },
    next(start) {
      return start + size;
    },
    label(start) {
      const local = new Date(start + shift).toISOString();
      const zone = formatOffset(offsetMinutes);
      if (bucket === "hour") return `${local.slice(0, 13)}:00${zone}`;
      return local.slice(0, 10);
    },
  };
}

/** Check a bucket option value. */
export function checkBucket(value: unknown): Bucket | "auto" {
  if (value === "auto" || (BUCKETS as readonly unknown[]).includes(value)) return value as Bucket | "auto";
  throw new EmbedkitError(
    "INVALID_OPTION",
    `bucket must be hour, day, week or auto, received ${JSON.stringify(value)}.`,
    { details: { param: "bucket" } },
  );
}
