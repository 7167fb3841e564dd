import { useCallback, useMemo, useState, type KeyboardEvent } from "react";
import { visibleRows, type SpanTree as Tree, type TreeNode } from "../tree";
import { ms } from "../format";
import { VirtualList } from "./VirtualList";

export const ROW_HEIGHT = 26;

// The span tree (left) and its timeline waterfall (right) in one virtualized list, so both scroll
// together and only the visible rows are in the DOM. Keyboard: ↑/↓ move, ← collapses or goes to the
// parent, → expands or goes to the first child, Enter/Space selects.
export function SpanTree(props: {
  tree: Tree;
  selected: string | null;
  onSelect: (spanId: string) => void;
  search: string;
}) {
  const { tree, selected, onSelect, search } = props;
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [focus, setFocus] = useState<string | null>(selected);
  const rows = useMemo(() => visibleRows(tree, collapsed, search), [tree, collapsed, search]);
  const indexOf = useMemo(() => {
    const m = new Map<string, number>();
    rows.forEach((r, i) => m.set(r.span.span_id, i));
    return m;
  }, [rows]);
  const total = Math.max(1, tree.endNs - tree.startNs);
  const current = focus ?? selected;
  const focusIndex = current ? (indexOf.get(current) ?? -1) : -1;

  const toggle = useCallback((id: string) => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);

  const onKey = (e: KeyboardEvent) => {
    if (!rows.length) return;
    const i = focusIndex < 0 ? 0 : focusIndex;
    const node = rows[i];
    let target: TreeNode | undefined;
    switch (e.key) {
      case "ArrowDown":
        target = rows[Math.min(rows.length - 1, focusIndex < 0 ? 0 : i + 1)];
        break;
      case "ArrowUp":
        target = rows[Math.max(0, i - 1)];
        break;
      case "ArrowLeft":
        if (node.children.length && !collapsed.has(node.span.span_id)) toggle(node.span.span_id);
        else if (node.span.parent_id) target = tree.byId.get(node.span.parent_id);
        break;
      case "ArrowRight":
        if (node.children.length && collapsed.has(node.span.span_id)) toggle(node.span.span_id);
        else if (node.children.length) target = node.children[0];
        break;
      case "Enter":
      case " ":
        onSelect(node.span.span_id);
        break;
      default:
        return;
    }
    e.preventDefault();
    if (target) {
      setFocus(target.span.span_id);
      if (e.key === "ArrowDown" || e.key === "ArrowUp") onSelect(target.span.span_id);
    }
  };

  return (
    <div className="span-tree" tabIndex={0} onKeyDown={onKey} role="tree" aria-label="span tree">
      <div className="span-tree-head">
        <span>span</span>
        <span>timeline · {ms((tree.endNs - tree.startNs) / 1e6)}</span>
      </div>
      <VirtualList
        items={rows}
        rowHeight={ROW_HEIGHT}
        scrollToIndex={focusIndex}
        testId="span-tree-rows"
        render={(node) => {
          const s = node.span;
          const left = ((s.start_ns - tree.startNs) / total) * 100;
          const width = Math.max(0.3, ((s.end_ns - s.start_ns) / total) * 100);
          const isCollapsed = collapsed.has(s.span_id);
          const cls = [
            "tree-row",
            s.span_id === selected ? "selected" : "",
            s.span_id === current ? "focused" : "",
            s.status_code === "ERROR" ? "error" : "",
          ].join(" ");
          return (
            <div
              className={cls}
              role="treeitem"
              aria-selected={s.span_id === selected}
              aria-expanded={node.children.length ? !isCollapsed : undefined}
              data-span-id={s.span_id}
              onClick={() => {
                setFocus(s.span_id);
                onSelect(s.span_id);
              }}
            >
              <div className="tree-cell" style={{ paddingLeft: 6 + Math.min(node.depth, 40) * 14 }}>
                {node.children.length ? (
                  <button
                    className="twisty"
                    aria-label={isCollapsed ? "expand" : "collapse"}
                    onClick={(e) => {
                      e.stopPropagation();
                      toggle(s.span_id);
                    }}
                  >
                    {isCollapsed ? "▸" : "▾"}
                  </button>
                ) : (
                  <span className="twisty-space" />
                )}
                <span className={`kind kind-${s.span_kind.toLowerCase()}`}>{s.span_kind}</span>
                <span className="span-name">{s.name}</span>
                {isCollapsed && <span className="muted"> (+{node.children.length})</span>}
              </div>
              <div className="wf-cell">
                <div className={`wf-bar kind-bg-${s.span_kind.toLowerCase()}`} style={{ left: `${left}%`, width: `${width}%` }} />
                <span className="wf-label">{ms((s.end_ns - s.start_ns) / 1e6)}</span>
              </div>
            </div>
          );
        }}
      />
    </div>
  );
}
