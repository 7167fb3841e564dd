import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { FilterBox, checkCondition } from "../components/FilterBox";

describe("checkCondition", () => {
  it("accepts well-formed conditions", () => {
    expect(checkCondition("span_kind == 'LLM' and latency_ms > 2000")).toBeNull();
    expect(checkCondition(`metadata["tier"] in ["gold", "platinum"]`)).toBeNull();
    expect(checkCondition(`'it\\'s' in input.value`)).toBeNull();
  });
  it("points at the column of unbalanced brackets and quotes", () => {
    expect(checkCondition("(name == 'x'")).toBe("unclosed '(' at column 1");
    expect(checkCondition("name == 'x')")).toBe("unmatched ')' at column 12");
    expect(checkCondition(`name == "abc`)).toBe("unterminated string starting at column 9");
    expect(checkCondition("latency_ms >")).toMatch(/operator is missing an operand/);
  });
});

describe("<FilterBox>", () => {
  it("applies on Enter, and not while the text is malformed", () => {
    const onApply = vi.fn();
    render(<FilterBox value="" serverError={null} onApply={onApply} />);
    const input = screen.getByLabelText("filter condition");
    fireEvent.change(input, { target: { value: "span_kind == 'LLM" } });
    expect(screen.getByRole("alert").textContent).toContain("unterminated string");
    fireEvent.keyDown(input, { key: "Enter" });
    expect(onApply).not.toHaveBeenCalled();
    fireEvent.change(input, { target: { value: "span_kind == 'LLM'" } });
    expect(screen.queryByRole("alert")).toBeNull();
    fireEvent.keyDown(input, { key: "Enter" });
    expect(onApply).toHaveBeenCalledWith("span_kind == 'LLM'");
  });

  it("shows the server's error inline for the applied condition, and clears on Escape", () => {
    const onApply = vi.fn();
    render(<FilterBox value="foo.bar" serverError="Invalid query: foo.bar is not a condition" onApply={onApply} />);
    expect(screen.getByRole("alert").textContent).toBe("Invalid query: foo.bar is not a condition");
    expect(screen.getByLabelText("filter condition").getAttribute("aria-invalid")).toBe("true");
    fireEvent.keyDown(screen.getByLabelText("filter condition"), { key: "Escape" });
    expect(onApply).toHaveBeenCalledWith("");
  });
});
