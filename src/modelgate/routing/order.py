"""The order in which a group's members are tried (CONTRACT-2, "Model groups").

- ``fallback``: as listed.
- ``loadbalance``: a weighted random order. The first member is drawn with
  probability weight / total; each next one likewise among those left (sampling
  without replacement), so that a failover also lands on the heavier members
  first. Cost: one ``random()`` per member (at most 10).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol, TypeVar


class Weighted(Protocol):
    @property
    def weight(self) -> int: ...


W = TypeVar("W", bound=Weighted)

_RANDOM = random.Random()  # the module's own stream: a test may pass a seeded one


def member_order(
    members: Sequence[W], strategy: str, *, rng: random.Random | None = None
) -> tuple[W, ...]:
    if strategy != "loadbalance" or len(members) < 2:
        return tuple(members)
    return weighted_order(members, rng or _RANDOM)


def weighted_order(members: Sequence[W], rng: random.Random) -> tuple[W, ...]:
    left = list(members)
    ordered: list[W] = []
    while left:
        total = sum(max(m.weight, 1) for m in left)
        point = rng.random() * total
        for index, member in enumerate(left):
            point -= max(member.weight, 1)
            if point < 0:
                break
        ordered.append(left.pop(index))
    return tuple(ordered)
