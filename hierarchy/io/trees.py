"""The one cycle check of dependency heads, for the corpus readers and the decoders (no heavy imports)."""


def find_cycle(heads: list[int]) -> list[int]:
    """The words of one cycle, smallest first, or ``[]`` when every word reaches the root 0.

    ``heads[i]`` is the head of word ``i + 1``, each in ``[0, n]``; a word that heads itself is a cycle.

    >>> find_cycle([0, 3, 2])  # word 1 is the root; words 2 and 3 point at each other
    [2, 3]
    >>> find_cycle([2, 0, 2]), find_cycle([1])
    ([], [1])
    """
    state = [0] * (len(heads) + 1)  # 0 unseen, 1 on the current path, 2 reaches the root
    for start in range(1, len(heads) + 1):
        path, i = [], start
        while i != 0 and state[i] == 0:
            state[i] = 1
            path.append(i)
            i = heads[i - 1]
        if i != 0 and state[i] == 1:
            cycle = path[path.index(i):]
            first = cycle.index(min(cycle))
            return cycle[first:] + cycle[:first]
        for j in path:
            state[j] = 2
    return []
