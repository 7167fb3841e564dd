import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { buildTree, visibleRows } from "../tree";
import { SpanTree } from "../components/SpanTree";
import type { OutlineSpan } from "../api";

function span(id: string, parent: string | null, start: number, name = `span ${id}`, kind = "CHAIN"): OutlineSpan {
  return { span_id: id, parent_id: parent, name, span_kind: kind, start_ns: start, end_ns: start + 10, status_code: "OK", token_count_total: 0 };
}

// root ─┬─ a ── a1
//       └─ b
const spans = [span("b", "root", 30), span("a1", "a", 20), span("root", null, 0, "agent"), span("a", "root", 10, "llm call", "LLM")];

describe("buildTree / visibleRows", () => {
  it("orders children by start time whatever the arrival order, and nests depth", () => {
    const rows = visibleRows(buildTree(spans), new Set(), "");
    expect(rows.map((r) => [r.span.span_id, r.depth])).toEqual([
      ["root", 0],
      ["a", 1],
      ["a1", 2],
      ["b", 1],
    ]);
  });

  it("hides the subtree of a collapsed span", () => {
    const rows = visibleRows(buildTree(spans), new Set(["a"]), "");
    expect(rows.map((r) => r.span.span_id)).toEqual(["root", "a", "b"]);
  });

  it("search keeps matches and their ancestors only", () => {
    const rows = visibleRows(buildTree(spans), new Set(["root"]), "span a1");
    expect(rows.map((r) => r.span.span_id)).toEqual(["root", "a", "a1"]);
  });

  it("shows a span whose parent has not arrived as a root", () => {
    const rows = visibleRows(buildTree([span("x", "missing", 5), span("r", null, 0)]), new Set(), "");
    expect(rows.map((r) => r.span.span_id)).toEqual(["r", "x"]);
  });

  it("a 10,000-deep chain builds without overflowing the stack", () => {
    const chain = Array.from({ length: 10000 }, (_, i) => span(String(i), i ? String(i - 1) : null, i));
    const rows = visibleRows(buildTree(chain), new Set(), "");
    expect(rows).toHaveLength(10000);
    expect(rows[9999].depth).toBe(9999);
  });
});

describe("<SpanTree>", () => {
  it("renders only the rows in view of a 10,000-span trace", () => {
    const many = [span("root", null, 0), ...Array.from({ length: 9999 }, (_, i) => span(`c${i}`, "root", i + 1))];
    render(<SpanTree tree={buildTree(many)} selected={null} onSelect={() => {}} search="" />);
    const items = screen.getAllByRole("treeitem");
    expect(items.length).toBeGreaterThan(0);
    expect(items.length).toBeLessThan(100);
  });

  it("collapses and expands with the twisty, and moves with the keyboard", () => {
    const selected: string[] = [];
    render(<SpanTree tree={buildTree(spans)} selected={null} onSelect={(id) => selected.push(id)} search="" />);
    expect(screen.getAllByRole("treeitem")).toHaveLength(4);
    const a = screen.getAllByRole("treeitem").find((el) => el.dataset.spanId === "a")!;
    fireEvent.click(within(a).getByLabelText("collapse"));
    expect(screen.getAllByRole("treeitem").map((el) => el.dataset.spanId)).toEqual(["root", "a", "b"]);
    fireEvent.click(within(a).getByLabelText("expand"));
    expect(screen.getAllByRole("treeitem")).toHaveLength(4);

    const tree = screen.getByRole("tree");
    fireEvent.keyDown(tree, { key: "ArrowDown" });
    fireEvent.keyDown(tree, { key: "ArrowDown" });
    expect(selected).toEqual(["root", "a"]);
    fireEvent.keyDown(tree, { key: "ArrowLeft" }); // collapses "a"
    expect(screen.getAllByRole("treeitem")).toHaveLength(3);
    fireEvent.keyDown(tree, { key: "ArrowRight" }); // expands it again
    expect(screen.getAllByRole("treeitem")).toHaveLength(4);
  });
});
