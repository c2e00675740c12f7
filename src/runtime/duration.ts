/**
 * Durations as operators write them in config and flags: `26h`, `7d`, `2w`,
 * `6mo`, `1y`, and sums such as `1y6mo`. A bare `m` is refused because it
 * reads as minutes to some people and months to others (restic uses months).
 */
const UNIT_MS: Record<string, number> = {
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

export interface Duration {
  years: number;
  months: number;
  /** Everything below a month, in milliseconds. */
  ms: number;
  text: string;
}

export function parseDuration(text: string): Duration {
  const trimmed = text.trim();
  const re = /(\d+)\s*(y|mo|w|d|h|min|s|m)/gy;
  let years = 0;
  let months = 0;
  let ms = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(trimmed)) !== null) {
    const n = Number(match[1]);
    const unit = match[2];
    if (unit === "m") throw new Error(`"${text}": 'm' is ambiguous; write 'mo' for months or 'min' for minutes`);
    if (unit === "y") years += n;
    else if (unit === "mo") months += n;
    else ms += n * UNIT_MS[unit];
    consumed = re.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length) {
    throw new Error(`"${text}" is not a duration; use a number and a unit, e.g. 26h, 7d, 2w, 6mo, 1y`);
  }
  return { years, months, ms, text: trimmed };
}

/** The instant `d` before `from` (calendar-aware for years and months, in UTC). */
export function subtractDuration(from: Date, d: Duration): Date {
  const t = new Date(from.getTime() - d.ms);
  if (d.years || d.months) t.setUTCMonth(t.getUTCMonth() - d.months - 12 * d.years);
  return t;
}

/** Approximate length in ms, for display and comparisons that need one number. */
export function durationMs(d: Duration): number {
  return d.ms + (d.years * 365 + d.months * 30) * 86_400_000;
}

export function formatAge(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 60_000) return `${Math.round(ms / 1000)}s`;
  if (abs < 3_600_000) return `${Math.round(ms / 60_000)}min`;
  if (abs < 2 * 86_400_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  return `${(ms / 86_400_000).toFixed(1)}d`;
}
