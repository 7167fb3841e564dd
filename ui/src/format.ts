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

export function windowFor(key: string | null, now = Date.now()): { start?: string; end?: string } {
  const r = RANGES.find((x) => x.key === key) ?? RANGES.find((x) => x.key === DEFAULT_RANGE)!;
  if (r.ms === null) return {};
  return { start: new Date(now - r.ms).toISOString() };
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
