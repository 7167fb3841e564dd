import type { OutlineSpan } from "./api";

// The span tree of one trace, built from spans in any order. A span whose parent is not (yet)
// loaded is shown as a root, so a partially loaded trace still renders.

export interface TreeNode {
  span: OutlineSpan;
  children: TreeNode[];
  depth: number;
}

export interface SpanTree {
  roots: TreeNode[];
  byId: Map<string, TreeNode>;
  startNs: number;
  endNs: number;
}

export function buildTree(spans: OutlineSpan[]): SpanTree {
  const byId = new Map<string, TreeNode>();
  for (const s of spans) byId.set(s.span_id, { span: s, children: [], depth: 0 });
  const roots: TreeNode[] = [];
  let startNs = Infinity;
  let endNs = -Infinity;
  for (const s of spans) {
    const node = byId.get(s.span_id)!;
    const parent = s.parent_id ? byId.get(s.parent_id) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
    if (s.start_ns < startNs) startNs = s.start_ns;
    if (s.end_ns > endNs) endNs = s.end_ns;
  }
  const order = (a: TreeNode, b: TreeNode) => a.span.start_ns - b.span.start_ns;
  roots.sort(order);
  // Depths and child order, iteratively (a 10,000-deep chain must not overflow the stack).
  const stack: TreeNode[] = [...roots];
  for (const r of roots) r.depth = 0;
  while (stack.length) {
    const n = stack.pop()!;
    n.children.sort(order);
    for (const c of n.children) {
      c.depth = n.depth + 1;
      stack.push(c);
    }
  }
  if (!spans.length) {
    startNs = 0;
    endNs = 0;
  }
  return { roots, byId, startNs, endNs };
}

export function matchesSearch(span: OutlineSpan, q: string): boolean {
  const needle = q.toLowerCase();
  return (
    span.name.toLowerCase().includes(needle) ||
    span.span_id.includes(needle) ||
    span.span_kind.toLowerCase() === needle
  );
}

// Rows to display in pre-order: children of collapsed nodes are hidden; with a search, only
// matching spans and their ancestors are shown (and collapse is ignored so matches are visible).
export function visibleRows(tree: SpanTree, collapsed: Set<string>, search: string): TreeNode[] {
  const rows: TreeNode[] = [];
  const q = search.trim();
  let keep: Set<TreeNode> | null = null;
  if (q) {
    keep = new Set();
    for (const node of tree.byId.values()) {
      if (!matchesSearch(node.span, q)) continue;
      let cur: TreeNode | undefined = node;
      while (cur && !keep.has(cur)) {
        keep.add(cur);
        cur = cur.span.parent_id ? tree.byId.get(cur.span.parent_id) : undefined;
      }
    }
  }
  const stack: TreeNode[] = [...tree.roots].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    if (keep && !keep.has(n)) continue;
    rows.push(n);
    if (!keep && collapsed.has(n.span.span_id)) continue;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return rows;
}
