"""Drawing the computational graph of a ``bpcourse.autodiff.Value`` with matplotlib only.

Layout: a node's column is its depth (every operation one column right of
its deepest input; a leaf one column left of the leftmost operation using it),
so all arrows point right, from the inputs to the output. Each box shows the node's name or operation, its value
and its gradient (run ``backward()`` first to see the gradients).
"""
import matplotlib.pyplot as plt

from .autodiff import Value

LEAF, OPERATION, OUTPUT = "#dbe9f6", "#fdf1d6", "#d9f0d3"


def graph_layout(value):
    """Columns and rows for every node of the graph of ``value``.

    Returns (nodes in topological order, {id(node): (column, row)}); rows
    within a column follow the topological order.
    """
    order = value.topological_order()
    depth = {}
    for node in order:                           # inputs come first, so their depth is known
        depth[id(node)] = 1 + max((depth[id(c)] for c in node._prev), default=-1)
    # a leaf sits just left of its leftmost user (not always in column 0): min, not max, so that a
    # leaf used early and late, like x in (tanh(x*y) + 1) * x, is still left of every user
    leaf_column = {}
    for node in order:
        for child in node._prev:
            if not child._prev:
                column = depth[id(node)] - 1
                leaf_column[id(child)] = min(column, leaf_column.get(id(child), column))
    depth.update(leaf_column)                    # >= 0: every operation has depth >= 1
    rows = {}
    position = {}
    for node in order:
        col = depth[id(node)]
        position[id(node)] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return order, position


def _box_text(node):
    name = node.label or ("" if node._prev else "const")
    if node._op:
        name = f"{name} = {node._op}" if node.label else node._op
    # .4g, not .4f: a vanishing gradient such as sigmoid'(10) = 4.54e-05 must not print as 0.0000
    return f"{name}\ndata {node.data:.4g}\ngrad {node.grad:.4g}"


def draw_graph(value, ax=None, fontsize=9):
    """Draw the graph that computed ``value``: boxes with data and grad, arrows input -> output.

    Inputs:
    - value: a bpcourse.autodiff.Value (the output of an expression)
    - ax: matplotlib Axes to draw on (a new figure sized to the graph if None)
    Returns the Axes.
    """
    if not isinstance(value, Value):
        raise TypeError(f"draw_graph(value): value must be a bpcourse.autodiff.Value, "
                        f"got {type(value).__name__}")
    order, position = graph_layout(value)
    n_cols = 1 + max(c for c, _ in position.values())
    n_rows = 1 + max(r for _, r in position.values())
    if ax is None:
        _, ax = plt.subplots(figsize=(2.0 * n_cols + 0.5, 1.0 * n_rows + 0.8))
    # centre each column vertically
    height = {c: 1 + max(r for cc, r in position.values() if cc == c) for c in range(n_cols)}
    boxes = {}
    for node in order:
        col, row = position[id(node)]
        y = (height[col] - 1) / 2 - row
        color = OUTPUT if node is value else (OPERATION if node._prev else LEAF)
        boxes[id(node)] = ax.text(col, y, _box_text(node), ha="center", va="center", fontsize=fontsize,
                                  family="monospace",
                                  bbox=dict(boxstyle="round,pad=0.4", fc=color, ec="0.4"))
    for node in order:
        for i, child in enumerate(node._prev):
            # straight arrows, but bent when an input is used twice (x * x) or when the
            # arrow would run straight through the boxes of the columns in between
            (c0, _), (c1, _) = position[id(child)], position[id(node)]
            rad = 0.35 if child in node._prev[:i] else (-0.3 if c1 - c0 > 1 else 0.0)
            ax.annotate("", xy=(0.0, 0.5), xycoords=boxes[id(node)],
                        xytext=(1.0, 0.5), textcoords=boxes[id(child)],
                        arrowprops=dict(arrowstyle="-|>", color="0.35", shrinkA=2, shrinkB=2,
                                        connectionstyle=f"arc3,rad={rad}"))
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(-(n_rows - 1) / 2 - 0.6, (n_rows - 1) / 2 + 0.6)
    ax.axis("off")
    return ax
