import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { RangePicker } from "../components/RangePicker";
import { customRangeKey, toLocalInput } from "../format";

describe("<RangePicker>", () => {
  it("applies a custom from/to range as one range key, and refuses a reversed one", () => {
    const onChange = vi.fn();
    render(<RangePicker value="7d" onChange={onChange} />);
    fireEvent.change(screen.getByLabelText("time range"), { target: { value: "custom" } });
    const from = new Date(2025, 0, 2, 3, 0);
    const to = new Date(2025, 0, 2, 5, 30);
    fireEvent.change(screen.getByLabelText("range start"), { target: { value: toLocalInput(to) } });
    fireEvent.change(screen.getByLabelText("range end"), { target: { value: toLocalInput(from) } });
    fireEvent.click(screen.getByText("Apply"));
    expect(screen.getByRole("alert").textContent).toMatch(/before the end/);
    expect(onChange).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText("range start"), { target: { value: toLocalInput(from) } });
    fireEvent.change(screen.getByLabelText("range end"), { target: { value: toLocalInput(to) } });
    fireEvent.click(screen.getByText("Apply"));
    expect(onChange).toHaveBeenCalledWith(customRangeKey({ from, to }));
  });

  it("shows a custom range from the URL as selected, and a preset switches back", () => {
    const onChange = vi.fn();
    const key = customRangeKey({ from: new Date(2025, 0, 2, 3, 0), to: null });
    render(<RangePicker value={key} onChange={onChange} />);
    const select = screen.getByLabelText("time range") as HTMLSelectElement;
    expect(select.value).toBe("custom");
    fireEvent.change(select, { target: { value: "24h" } });
    expect(onChange).toHaveBeenCalledWith("24h");
  });
});
