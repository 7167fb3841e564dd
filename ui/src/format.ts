// Display formatting and the time ranges the pickers offer (the URL keeps the range key).

export const RANGES: { key: string; label: string; ms: number | null }[] = [
  { key: "15m", label: "Last 15 minutes", ms: 15 * 60_000 },
  { key: "1h", label: "Last hour", ms: 3_600_000 },
  { key: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { key: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { key: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
  { key: "all", label: "All time", ms: null },
];

export const DEFAULT_RANGE = "7d";

// A custom absolute range is kept in the same URL key as "<from ISO>..<to ISO>"; either side may be
// empty (open-ended).
const CUSTOM_SEPARATOR = "..";

export interface CustomRange {
  from: Date | null;
  to: Date | null;
}

export function customRangeKey(r: CustomRange): string {
  return `${r.from ? r.from.toISOString() : ""}${CUSTOM_SEPARATOR}${r.to ? r.to.toISOString() : ""}`;
}

// The custom range a range key holds, or null for a preset (or a key that is not a valid range).
export function parseCustomRange(key: string | null): CustomRange | null {
  if (!key || !key.includes(CUSTOM_SEPARATOR)) return null;
  const [a, b] = key.split(CUSTOM_SEPARATOR, 2);
  const from = a ? new Date(a) : null;
  const to = b ? new Date(b) : null;
  if ((from && Number.isNaN(from.getTime())) || (to && Number.isNaN(to.getTime()))) return null;
  if (!from && !to) return null;
  if (from && to && from.getTime() >= to.getTime()) return null;
  return { from, to };
}

// Why a custom range cannot be applied, or null when it can.
export function customRangeError(r: CustomRange): string | null {
  if (!r.from && !r.to) return "give a start, an end, or both";
  if (r.from && r.to && r.from.getTime() >= r.to.getTime()) return "the start must be before the end";
  return null;
}

export function windowFor(key: string | null, now = Date.now()): { start?: string; end?: string } {
  const custom = parseCustomRange(key);
  if (custom) return { start: custom.from?.toISOString(), end: custom.to?.toISOString() };
  const r = RANGES.find((x) => x.key === key) ?? RANGES.find((x) => x.key === DEFAULT_RANGE)!;
  if (r.ms === null) return {};
  return { start: new Date(now - r.ms).toISOString() };
}

// A Date as the value of an <input type="datetime-local"> (local time, minutes), and back.
export function toLocalInput(d: Date | null): string {
  if (!d) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(v: string): Date | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function rangeLabel(key: string): string {
  const custom = parseCustomRange(key);
  if (!custom) return RANGES.find((r) => r.key === key)?.label ?? key;
  return `${custom.from ? when(custom.from.toISOString()) : "…"} – ${custom.to ? when(custom.to.toISOString()) : "now"}`;
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(2)} s`;
  return `${(v / 60_000).toFixed(1)} min`;
}

export function num(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return v.toLocaleString("en-US");
}

export function cost(v: number | null | undefined): string {
  if (v === null || v === undefined) return "";
  return `$${v < 0.01 ? v.toFixed(5) : v.toFixed(2)}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "never";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString("en-US", { hour12: false });
}

export function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

export function latencyMs(startIso: string, endIso: string): number {
  return new Date(endIso).getTime() - new Date(startIso).getTime();
}
