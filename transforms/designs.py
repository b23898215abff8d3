"""Expansion designs: which lexicon entries fill each template × group block.

A block is one template in one group of one config. Its *selection* is the
positions (in the group's entry list) of the fillers of its rows, in row order.

- ``all``: every entry (full factorial).
- ``sample``: ``per_group`` entries drawn with an RNG seeded by
  ``(seed, config, template id, group)`` — the same on any worker, in any order.
- ``sequential``: CPython's ``random.seed(seed)`` once per config, then
  ``random.sample`` per template in template order and group order. This is
  how CALM v1 was drawn; it is inherently sequential, so the planner computes
  it in one place before the blocks fan out.

>>> select_block(strategy="sample", group_size=10, count=3, seed=1, key=("qa", "t-1", "male"))
[1, 0, 4]
"""

from __future__ import annotations

import random
from typing import Sequence

from schemas.ids import stable_seed


def select_block(*, strategy: str, group_size: int, count: int | None, seed: int, key: Sequence[str],
                 sample: bool = True) -> list[int]:
    """Positions of one block's fillers for the order-independent strategies."""
    n = group_size if count is None else count
    if n > group_size:
        raise ValueError(f"block {'/'.join(key)} needs {n} fillers but the group has {group_size}")
    if strategy == "all" or not sample:
        return list(range(n))
    if strategy == "sample":
        return random.Random(stable_seed(seed, *key)).sample(range(group_size), n)
    raise ValueError(f"strategy {strategy!r} is not order-independent")


def select_sequential(blocks: Sequence[tuple[int, int | None, bool]], seed: int) -> list[list[int]]:
    """Selections for blocks in order, from one CPython RNG seeded once.

    Each block is ``(group_size, count, sample)``; a block with ``sample`` False
    takes its first ``count`` entries and draws nothing (CALM's non-binary names).
    """
    rng = random.Random(seed)
    out = []
    for group_size, count, sample in blocks:
        n = group_size if count is None else count
        if n > group_size:
            raise ValueError(f"a block needs {n} fillers but its group has {group_size}")
        # random.sample picks by position, so sampling positions equals sampling the values
        out.append(rng.sample(range(group_size), n) if sample else list(range(n)))
    return out


def select_stratified(*, strata: Sequence[Sequence[int]], count: int, seed: int, key: Sequence[str]) -> list[int]:
    """``count`` positions balanced across strata (e.g. a race group's male and female names).

    Each stratum gives ``count // len(strata)`` positions (the first ``count % len(strata)``
    strata one more); a stratum with fewer entries gives all it has and the others make up
    the difference. Drawn with an RNG seeded by ``(seed, key)``, then shuffled so rows do
    not come sorted by stratum. Order-independent like ``sample``.

    >>> picked = select_stratified(strata=[[0, 1, 2], [3, 4, 5]], count=4, seed=1, key=("c", "t", "g"))
    >>> sum(p < 3 for p in picked), sum(p >= 3 for p in picked)
    (2, 2)
    """
    if not strata:
        raise ValueError(f"block {'/'.join(key)}: no strata to balance")
    rng = random.Random(stable_seed(seed, *key, "stratified"))
    if count > sum(len(p) for p in strata):
        raise ValueError(f"block {'/'.join(key)} needs {count} fillers but its strata hold {sum(map(len, strata))}")
    # equal shares; a stratum too small for its share gives all it has and the others make up the rest
    quota = [0] * len(strata)
    left = count
    open_ = [i for i in range(len(strata)) if strata[i]]
    while left and open_:
        base, extra = divmod(left, len(open_))
        for j, i in enumerate(list(open_)):
            take = min(base + (1 if j < extra else 0), len(strata[i]) - quota[i])
            quota[i] += take
            left -= take
        open_ = [i for i in open_ if quota[i] < len(strata[i])]
    chosen: list[int] = []
    for i, positions in enumerate(strata):
        chosen += rng.sample(list(positions), quota[i])
    rng.shuffle(chosen)
    return chosen
