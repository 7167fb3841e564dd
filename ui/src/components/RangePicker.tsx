import { useEffect, useState } from "react";
import { RANGES, customRangeError, customRangeKey, fromLocalInput, parseCustomRange, rangeLabel, toLocalInput } from "../format";

// The time range: a preset, or a custom absolute range (from/to, local time) kept in the URL's
// `range` key as "<from ISO>..<to ISO>" (format.ts).
export function RangePicker({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const custom = parseCustomRange(value);
  const [editing, setEditing] = useState(false);
  const [from, setFrom] = useState(toLocalInput(custom?.from ?? null));
  const [to, setTo] = useState(toLocalInput(custom?.to ?? null));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setFrom(toLocalInput(custom?.from ?? null));
    setTo(toLocalInput(custom?.to ?? null));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  const apply = () => {
    const r = { from: fromLocalInput(from), to: fromLocalInput(to) };
    const problem = customRangeError(r);
    setError(problem);
    if (problem) return;
    setEditing(false);
    onChange(customRangeKey(r));
  };

  return (
    <span className="range-picker">
      <select
        aria-label="time range"
        value={custom || editing ? "custom" : value}
        onChange={(e) => {
          if (e.target.value === "custom") {
            setEditing(true);
            return;
          }
          setEditing(false);
          setError(null);
          onChange(e.target.value);
        }}
      >
        {RANGES.map((r) => (
          <option key={r.key} value={r.key}>
            {r.label}
          </option>
        ))}
        <option value="custom">{custom ? rangeLabel(value) : "Custom range…"}</option>
      </select>
      {custom && !editing && (
        <button type="button" className="link" onClick={() => setEditing(true)} aria-label="edit custom range">
          edit
        </button>
      )}
      {editing && (
        <form
          className="inline-form"
          aria-label="custom range"
          onSubmit={(e) => {
            e.preventDefault();
            apply();
          }}
        >
          <input type="datetime-local" aria-label="range start" value={from} onChange={(e) => setFrom(e.target.value)} />
          <span>–</span>
          <input type="datetime-local" aria-label="range end" value={to} onChange={(e) => setTo(e.target.value)} />
          <button type="submit">Apply</button>
          {error && (
            <span className="inline-error" role="alert">
              {error}
            </span>
          )}
        </form>
      )}
    </span>
  );
}
