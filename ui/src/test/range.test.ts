import { describe, expect, it } from "vitest";
import { customRangeError, customRangeKey, fromLocalInput, parseCustomRange, toLocalInput, windowFor } from "../format";
import { sortKeyOf } from "../views/Traces";

describe("custom time ranges in the URL", () => {
  const from = new Date("2025-01-02T03:00:00Z");
  const to = new Date("2025-01-02T04:30:00Z");

  it("round-trips a from/to range through the range key and gives it as the window", () => {
    const key = customRangeKey({ from, to });
    expect(key).toBe("2025-01-02T03:00:00.000Z..2025-01-02T04:30:00.000Z");
    expect(parseCustomRange(key)).toEqual({ from, to });
    expect(windowFor(key)).toEqual({ start: "2025-01-02T03:00:00.000Z", end: "2025-01-02T04:30:00.000Z" });
  });

  it("an open-ended side is left out of the window", () => {
    expect(windowFor(customRangeKey({ from, to: null }))).toEqual({ start: "2025-01-02T03:00:00.000Z", end: undefined });
    expect(windowFor(customRangeKey({ from: null, to }))).toEqual({ start: undefined, end: "2025-01-02T04:30:00.000Z" });
  });

  it("presets still mean a window ending now; a broken or reversed key falls back to the default preset", () => {
    const now = Date.parse("2025-01-10T00:00:00Z");
    expect(windowFor("1h", now)).toEqual({ start: "2025-01-09T23:00:00.000Z" });
    expect(windowFor("all", now)).toEqual({});
    const week = { start: "2025-01-03T00:00:00.000Z" };
    expect(windowFor("yesterday..today", now)).toEqual(week);
    expect(windowFor(customRangeKey({ from: to, to: from }), now)).toEqual(week);
    expect(windowFor("..", now)).toEqual(week);
  });

  it("explains why a range cannot be applied", () => {
    expect(customRangeError({ from: null, to: null })).toMatch(/start, an end/);
    expect(customRangeError({ from: to, to: from })).toMatch(/before the end/);
    expect(customRangeError({ from, to })).toBeNull();
  });

  it("datetime-local values are local time, minute precision", () => {
    const local = new Date(2025, 0, 2, 3, 4);
    expect(toLocalInput(local)).toBe("2025-01-02T03:04");
    expect(fromLocalInput("2025-01-02T03:04")!.getTime()).toBe(local.getTime());
    expect(fromLocalInput("")).toBeNull();
  });
});

describe("trace sort keys", () => {
  it("every sortable column is a server sort; the old client-side name maps to tokens", () => {
    expect(sortKeyOf("cost_total")).toBe("cost_total");
    expect(sortKeyOf("token_count_total")).toBe("token_count_total");
    expect(sortKeyOf("tokens")).toBe("token_count_total");
    expect(sortKeyOf("latency_ms")).toBe("latency_ms");
    expect(sortKeyOf("nonsense")).toBe("start_time");
  });
});
