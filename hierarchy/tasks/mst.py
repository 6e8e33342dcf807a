"""The maximum spanning arborescence of a dense graph (Chu-Liu-Edmonds), without recursion and in O(n^2) time and
memory, for dependency trees of any length.

Tarjan's formulation (1977, with Camerini, Fratta & Maffioli's correction): every node keeps its best incoming
arc; a cycle of best arcs is contracted into one of its nodes, whose incoming arcs become ``w(u, v) - w(best(v),
v)`` maximised over the cycle's nodes ``v`` and whose outgoing arcs the best of the cycle's; only the contracted
node's best arc changes, so each contraction costs O(n x cycle length) and all of them O(n^2). Expanding the
contractions in reverse order breaks each cycle where the arc chosen into it enters. Each contracted arc keeps the
original head and dependent it stands for, so the expansion needs no recursion either.
"""
from __future__ import annotations

import numpy as np


def max_spanning_tree(energy: np.ndarray, copy: bool = True) -> list[int]:
    """The heads of words ``1..n`` in the maximum spanning arborescence rooted at node 0 (any number of root
    children) of ``energy`` ``[n + 1, n + 1]``, ``energy[head, dep]``; non-finite entries count as worse than every
    finite one. Ties go to the lower head. ``copy=False``: a float64 ``energy`` is used (and changed) in place.

    >>> max_spanning_tree(np.array([[0., 5, 1], [0, 0, 4], [0, 3, 0]]))  # 0->1 (5), 1->2 (4)
    [0, 1]
    >>> max_spanning_tree(np.array([[0., 1, 1], [0, 0, 9], [0, 9, 0]]))  # the 1<->2 cycle is broken once
    [0, 1]
    """
    m = energy.shape[0]
    w = np.array(energy, dtype=np.float64, copy=copy)
    finite = np.isfinite(w)
    if not finite.all():
        low, high = (w[finite].min(), w[finite].max()) if finite.any() else (0.0, 0.0)
        w[~finite] = low - (high - low) - 1.0  # worse than any real arc, still comparable
    np.fill_diagonal(w, -np.inf)
    w[:, 0] = -np.inf  # nothing enters the root
    arc = np.arange(m * m, dtype=np.int64).reshape(m, m)  # the original arc (head * m + dep) that (u, v) stands for
    alive = np.ones(m, dtype=bool)
    best = w.argmax(0)
    parent, merged_at = np.arange(m), np.full(m, -1)  # a contracted node points at its representative
    contractions: list[tuple[int, np.ndarray, list[tuple[int, int]]]] = []
    queue = initial_cycles(best, m)
    while queue:
        cycle = np.array(queue.pop(), dtype=np.int64)
        r, rest, k = int(cycle[0]), cycle[1:], len(contractions)
        heads = best[cycle]
        contractions.append((r, cycle, [divmod(int(a), m) for a in arc[heads, cycle]]))
        rows = np.arange(m)
        entering = w[:, cycle] - w[heads, cycle][None, :]  # (m, len(cycle))
        into = entering.argmax(1)
        leaving = w[cycle, :]  # (len(cycle), m)
        out_of = leaving.argmax(0)
        new_in = (entering[rows, into], arc[rows, cycle[into]])
        new_out = (leaving[out_of, rows], arc[cycle[out_of], rows])
        w[:, r], arc[:, r] = new_in
        w[r, :], arc[r, :] = new_out
        alive[rest] = False  # a dead node's row and column are never read again: no need to clear them
        w[r, r] = -np.inf
        parent[rest], merged_at[rest] = r, k
        in_cycle = np.zeros(m, dtype=bool)
        in_cycle[cycle] = True
        best[alive & in_cycle[best]] = r  # the cycle's best arc out to a node is now r's
        best[r] = np.where(alive, w[:, r], -np.inf).argmax()
        found = cycle_through(best, r)
        if found:
            queue.append(found)
    incoming = {int(v): divmod(int(arc[best[v], v]), m) for v in np.flatnonzero(alive) if v}
    for k in range(len(contractions) - 1, -1, -1):  # expand: break each cycle where the chosen arc enters it
        r, cycle, arcs = contractions[k]
        head, dep = incoming[r]
        for v, arc in zip(cycle.tolist(), arcs):
            incoming[v] = arc
        incoming[member(dep, r, k, parent, merged_at)] = (head, dep)
    return [incoming[v][0] for v in range(1, m)]


def initial_cycles(best: np.ndarray, m: int) -> list[list[int]]:
    """The (disjoint) cycles of the best-arc graph over nodes ``1..m-1``."""
    state, cycles = [0] * m, []  # 0 unseen, else the start node of the walk that saw it
    for start in range(1, m):
        path, v = [], start
        while v != 0 and state[v] == 0:
            state[v] = start
            path.append(v)
            v = int(best[v])
        if v != 0 and state[v] == start:
            cycles.append(path[path.index(v):])
    return cycles


def cycle_through(best: np.ndarray, r: int) -> list[int]:
    """The cycle of best arcs through ``r``, or ``[]``; a walk that does not come back to ``r`` ends at the root
    or in another cycle, already queued."""
    path, seen, v = [r], {r}, int(best[r])
    while v != 0 and v not in seen:
        seen.add(v)
        path.append(v)
        v = int(best[v])
    return path if v == r else []


def member(node: int, r: int, k: int, parent: np.ndarray, merged_at: np.ndarray) -> int:
    """The node of contraction ``k`` (into ``r``) that contains the original ``node``."""
    while node != r and merged_at[node] != k:
        node = int(parent[node])
    return node
