import { useEffect, useState } from "react";

// Quick local checks of a span query condition (the server's parser has the final word): balanced
// brackets and quotes, and not a bare operator at the ends. Returns a message with the column, or null.
export function checkCondition(text: string): string | null {
  const stack: { ch: string; at: number }[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  let quote: { ch: string; at: number } | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote.ch) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = { ch: c, at: i };
    else if (c === "(" || c === "[" || c === "{") stack.push({ ch: c, at: i });
    else if (c in pairs) {
      const open = stack.pop();
      if (!open || open.ch !== pairs[c]) return `unmatched '${c}' at column ${i + 1}`;
    }
  }
  if (quote) return `unterminated string starting at column ${quote.at + 1}`;
  if (stack.length) return `unclosed '${stack[stack.length - 1].ch}' at column ${stack[stack.length - 1].at + 1}`;
  const t = text.trim();
  if (/^(==|!=|<=|>=|<|>|and\b|or\b)/.test(t) || /(==|!=|<=|>=|<|>|\band|\bor|\bnot)$/.test(t))
    return "incomplete expression: an operator is missing an operand";
  return null;
}

// The filter box of the traces page: takes the span query language (e.g. `span_kind == 'LLM'`),
// applies on Enter, shows local syntax problems as you type and the server's error when it rejects.
export function FilterBox(props: { value: string; serverError: string | null; onApply: (condition: string) => void }) {
  const [text, setText] = useState(props.value);
  const [touched, setTouched] = useState(false);
  useEffect(() => setText(props.value), [props.value]);
  const local = text.trim() ? checkCondition(text) : null;
  const error = (touched && local) || (!touched || text === props.value ? props.serverError : null);
  return (
    <div className="filter-box">
      <input
        type="search"
        aria-label="filter condition"
        aria-invalid={!!error}
        placeholder={`filter, e.g. span_kind == 'LLM' and latency_ms > 1000`}
        value={text}
        spellCheck={false}
        onChange={(e) => {
          setText(e.target.value);
          setTouched(true);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            if (local) return;
            setTouched(false);
            props.onApply(text.trim());
          } else if (e.key === "Escape") {
            setText("");
            setTouched(false);
            props.onApply("");
          }
        }}
      />
      {error && (
        <div className="filter-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
