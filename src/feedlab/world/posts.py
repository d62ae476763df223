"""Posts: a fixed-capacity ring of live posts, stored as struct-of-arrays.

A post lives in slot ``id & (capacity - 1)``; ids start at 1 and 0 marks an empty slot, so any
holder of an id can check that the slot still holds that post. Reshares are posts too: they copy
the content of the post they reshare and carry its cascade's ``root`` id and their ``depth``, so
cascade size, depth and speed can be measured (Vosoughi, Roy & Aral 2018). A slot is only reused
once its post has outlived ``lifetime_hours``; a ring too small for that raises
:class:`CapacityError` instead of silently dropping live posts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from feedlab.core.arrays import BoolArray, FloatArray, I32Array, IntArray, U32Array
from feedlab.core.errors import CapacityError
from feedlab.core.params import Params


class PostParams(Params):
    """Content of new posts and how long they stay live.

    Attributes:
        lifetime_hours: hours a cascade stays live (eligible for feeds and reshares).
        capacity: slots in the ring; 0 sizes it from the population's posting rate.
        false_rate: base probability that an original post is false.
        outrage_threshold: outrage level from which a post counts as outrageous in metrics.
        slant_noise: s.d. of the platform's text classifier of a post's leaning.
    """

    lifetime_hours: int = Field(48, ge=1, le=24 * 14)
    capacity: int = Field(0, ge=0)
    false_rate: float = Field(0.04, ge=0, le=1)
    outrage_threshold: float = Field(0.5, ge=0, le=1)
    slant_noise: float = Field(0.35, ge=0)


@dataclass(slots=True)
class Posts:
    """The ring of live posts. Row = slot; every array has ``capacity`` rows.

    This buffer is updated in place by :meth:`append` (the one deliberate exception to pure
    stages: copying it every tick would cost more than the tick at 10^6 people).
    """

    id: U32Array  # (capacity,) uint32, 0 = empty
    author: I32Array  # (capacity,) int32, person who wrote or reshared it
    created: I32Array  # (capacity,) int32, tick of creation
    root: U32Array  # (capacity,) uint32, id of the original post of the cascade
    root_author: I32Array  # (capacity,) int32, author of the original post
    root_created: I32Array  # (capacity,) int32, tick the cascade started
    depth: I32Array  # (capacity,) int32, reshare hops from the original (0 = original)
    topic_a: I32Array  # (capacity,) int32, main topic
    topic_b: I32Array  # (capacity,) int32, second topic
    topic_weight: FloatArray  # (capacity,) float32, weight of topic_a in the mix
    leaning: FloatArray  # (capacity,) float32, true slant in [-1, 1]
    slant: FloatArray  # (capacity,) float32, what a text classifier reads as its slant
    outrage: FloatArray  # (capacity,) float32, moral-emotional outrage in [0, 1]
    is_false: BoolArray  # (capacity,) bool, veracity (ground truth)
    novelty: FloatArray  # (capacity,) float32 in [0, 1]
    quality: FloatArray  # (capacity,) float32 in [0, 1]
    exclamations: I32Array  # (capacity,) int32, exclamation marks in the text
    cascade_size: I32Array  # (capacity,) int32, on originals: 1 + reshares so far
    cascade_depth: I32Array  # (capacity,) int32, on originals: deepest reshare so far
    cascade_views: I32Array  # (capacity,) int32, on originals: impressions of the cascade
    next_id: int  # id the next post will get

    @property
    def capacity(self) -> int:
        """Number of slots (a power of two)."""
        return int(self.id.shape[0])

    @property
    def mask(self) -> int:
        """Bit mask turning an id into its slot."""
        return self.capacity - 1

    def slots_of(self, ids: U32Array) -> IntArray:
        """Slots of posts with ``ids``."""
        return (ids & np.uint32(self.mask)).astype(np.int64)

    def alive(self, ids: U32Array, tick: int, lifetime: int) -> BoolArray:
        """Whether each id still names a post whose cascade is live at ``tick``."""
        slots = self.slots_of(ids)
        return (ids != 0) & (self.id[slots] == ids) & (self.root_created[slots] > tick - lifetime)

    def append(self, tick: int, lifetime: int, **fields: np.ndarray) -> U32Array:
        """Write new posts into the ring and return their ids.

        Args:
            tick: current tick (the creation time).
            lifetime: hours a cascade stays live; slots still live are never overwritten.
            **fields: one array per content field, all of the same length.

        Raises:
            CapacityError: if a slot to be reused still holds a live post.
        """
        n = len(fields["author"])
        if n == 0:
            return np.zeros(0, np.uint32)
        if n > self.capacity:
            raise CapacityError(
                f"world.posts.capacity must hold one tick's posts ({n}), got {self.capacity}."
            )
        ids = (self.next_id + np.arange(n, dtype=np.int64)) & 0xFFFFFFFF
        ids[ids == 0] = 1  # 0 means empty; skipping it on wrap keeps ids unique within the ring
        ids32 = ids.astype(np.uint32)
        slots = self.slots_of(ids32)
        busy = (self.id[slots] != 0) & (self.created[slots] > tick - lifetime)
        if busy.any():
            message = f"world.posts.capacity must hold the posts of {lifetime} hours, got {self.capacity} slots (overflowed at tick {tick}); raise it (a power of two)."
            raise CapacityError(message)
        self.id[slots] = ids32
        self.created[slots] = tick
        if "root" not in fields:  # originals start their own cascade
            self.root[slots] = ids32
            self.root_created[slots] = tick
        for name, values in fields.items():
            getattr(self, name)[slots] = values
        self.cascade_size[slots] = 1
        self.cascade_depth[slots] = 0
        self.cascade_views[slots] = 0
        self.next_id = int(self.next_id + n)
        return ids32


def empty_posts(capacity: int) -> Posts:
    """An empty ring with ``capacity`` slots (rounded up to a power of two)."""
    cap = 1 << max(10, int(np.ceil(np.log2(max(capacity, 2)))))
    f32 = np.zeros(cap, np.float32)
    i32 = np.zeros(cap, np.int32)
    return Posts(
        id=np.zeros(cap, np.uint32),
        author=i32.copy(),
        created=np.full(cap, -(10**9), np.int32),
        root=np.zeros(cap, np.uint32),
        root_author=i32.copy(),
        root_created=np.full(cap, -(10**9), np.int32),
        depth=i32.copy(),
        topic_a=i32.copy(),
        topic_b=i32.copy(),
        topic_weight=f32.copy(),
        leaning=f32.copy(),
        slant=f32.copy(),
        outrage=f32.copy(),
        is_false=np.zeros(cap, bool),
        novelty=f32.copy(),
        quality=f32.copy(),
        exclamations=i32.copy(),
        cascade_size=i32.copy(),
        cascade_depth=i32.copy(),
        cascade_views=i32.copy(),
        next_id=1,
    )
