"""Sock-puppet personas: scripted accounts with no free will, for audits of recommenders.

Audits of real recommenders run fresh "sock-puppet" accounts that follow a fixed script and
record what they are recommended (Ribeiro et al. 2020; Haroon et al. 2023, *PNAS* 120(50)
e2213020120; Hosseinmardi et al. 2024, *PNAS* 121(8) e2313377121, whose counterfactual bots
switch from partisan to neutral behaviour to measure how fast the recommender forgets). A
persona here is such a script: given the feed a puppet is shown, it decides deterministically
what the puppet watches, clicks, likes and hides. It reads each post's content (its true
leaning), as the human running a puppet account reads the video or post; it never draws a die.

Every puppet scrolls its whole feed (every shown post is an impression). An *engaged* post is
clicked, liked and watched for :data:`WATCH_SECONDS`; other posts get a :data:`GLANCE_SECONDS`
glance; a *hidden* post is hidden ("show less") after the glance. Puppets never share, reply
or follow, so they add no posts and no follows to the society.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from feedlab.behaviour.choice import Responses
from feedlab.core.arrays import IntArray
from feedlab.core.params import Params
from feedlab.world.posts import Posts

PERSONA_KINDS = ("neutral", "one-side", "extreme-then-neutral", "hide-side")
"""The scripts a persona can follow (see :class:`PersonaParams`)."""

WATCH_SECONDS = 90.0
"""Dwell on an engaged post: past the platform's one-minute "long dwell"."""
GLANCE_SECONDS = 3.0
"""Dwell on a post scrolled past."""


class PersonaParams(Params):
    """One persona: a name, a script and the script's settings.

    Scripts:

    * ``neutral`` ("starts neutral"): engages with the top ``watch`` posts of each feed, whatever
      they are - the "follow the recommendations" walk of Ribeiro et al. (2020).
    * ``one-side`` ("watches one side only"): engages with every post on ``side`` (true leaning
      of that sign and magnitude at least ``lean``), ignores the rest.
    * ``extreme-then-neutral`` ("clicks one extreme post then behaves neutrally"): before step
      ``switch_step`` engages only with the most extreme post of ``side`` in each feed (if its
      leaning reaches ``extreme``); from then on behaves as ``neutral`` (Hosseinmardi et al.
      2024's counterfactual bots), which measures how fast the partisan history is forgotten.
    * ``hide-side`` ("hides everything from one side"): hides every post on ``side`` and
      otherwise behaves as ``neutral`` on the rest.

    Attributes:
        name: label in results.
        kind: the script, one of :data:`PERSONA_KINDS`.
        side: ``left`` or ``right``: the side a partisan script favours or hides.
        watch: posts engaged with per feed by the neutral behaviour (top of the feed).
        lean: smallest absolute leaning that counts a post as on a side.
        extreme: smallest absolute leaning of an extreme post.
        switch_step: step at which ``extreme-then-neutral`` turns neutral.
    """

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
    kind: Literal["neutral", "one-side", "extreme-then-neutral", "hide-side"] = "neutral"
    side: Literal["left", "right"] = "right"
    watch: int = Field(1, ge=0, le=1000)
    lean: float = Field(0.2, ge=0, le=1)
    extreme: float = Field(0.6, ge=0, le=1)
    switch_step: int = Field(12, ge=0)

    @property
    def sign(self) -> float:
        """+1 for the right, -1 for the left."""
        return 1.0 if self.side == "right" else -1.0


def scripted_responses(
    persona: PersonaParams, step: int, posts: Posts, feed: IntArray
) -> Responses:
    """What the puppets of ``persona`` do with their feeds at audit step ``step``.

    Args:
        persona: the script.
        step: the audit step (0-based), for scripts that change over time.
        posts: the live posts (the puppet reads their content).
        feed: post slots shown, ``(n_puppets, feed_size)``, ``-1`` = empty slot.

    Returns:
        The puppets' :class:`~feedlab.behaviour.choice.Responses`; no randomness is involved.
    """
    seen = feed >= 0
    slot = np.where(seen, feed, 0)
    toward = np.where(seen, posts.leaning[slot] * persona.sign, 0.0)  # > 0: on the persona's side
    on_side = seen & (toward >= max(persona.lean, 1e-6))
    rank = np.cumsum(seen, axis=1) - 1  # position among shown posts
    top = seen & (rank < persona.watch)
    hide = np.zeros_like(seen)
    kind = persona.kind
    if kind == "one-side":
        engage = on_side
    elif kind == "hide-side":
        hide = on_side
        visible = seen & ~hide
        engage = visible & (np.cumsum(visible, axis=1) - 1 < persona.watch)
    elif kind == "extreme-then-neutral" and step < persona.switch_step:
        score = np.where(seen & (toward >= persona.extreme), toward, -np.inf)
        best = np.argmax(score, axis=1)
        engage = np.zeros_like(seen)
        rows = np.flatnonzero(np.isfinite(score[np.arange(feed.shape[0]), best]))
        engage[rows, best[rows]] = True
    else:
        engage = top
    dwell = np.where(engage, WATCH_SECONDS, np.where(seen, GLANCE_SECONDS, 0.0))
    none = np.zeros_like(seen)
    return Responses(
        seen=seen,
        click=engage,
        like=engage,
        share=none,
        reply=none,
        hide=hide,
        follow=none,
        dwell_seconds=dwell.astype(np.float32),
    )
