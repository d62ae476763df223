"""Sock-puppet audits inside a simulated society: puppet accounts, their sessions, their measures.

The society runs tick by tick as in any run (:func:`feedlab.engine.step.step`), its feeds ranked
by the society's ranker. Puppets are extra accounts appended to the population: they never open
the app on their own and never post; each follows the same seed set of accounts. Every
``step_ticks`` ticks after the warm-up, each puppet has one session: the arm's ranker (the audited
recommender, or the control) ranks the puppet's candidates exactly as the platform would, the
puppet answers by its persona's script, and the impressions are logged and learned from like any
others, so the platform's model of the puppet is built from its behaviour.

Puppets of every (arm, persona) pair live in the same society at the same time and are served at
the same ticks, so the audited recommender and the control are compared on identical content.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np

from feedlab.behaviour.choice import Responses
from feedlab.behaviour.params import BehaviourParams
from feedlab.behaviour.personas import PersonaParams, scripted_responses
from feedlab.core.arrays import IntArray
from feedlab.core.random import AUDIT_EXPLORE, AUDIT_PUPPETS, AUDIT_RANK, Streams
from feedlab.engine.step import Setup, SimState, homogenization_pairs, start, step
from feedlab.metrics.audit import feed_measures
from feedlab.platform.observe import observe_follows, observe_impressions, observe_posts
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.state import PlatformParams, learn_from_log, serve
from feedlab.world.graph import graph_from_edges
from feedlab.world.world import WorldParams

AuditRow = tuple[str, int, str, int, str, float]
"""(arm, seed, persona, step, measure, value): one row of the long audit table."""


@dataclass(frozen=True, slots=True)
class AuditCell:
    """One seed of an audit: everything needed to run it, picklable.

    Attributes:
        seed: root seed of the society.
        world: the society (``n_people`` excludes the puppets).
        behaviour: how the society's people act.
        platform: platform settings (shared by the society and the puppets' feeds).
        society_ranker: the ranker of everyone else's feeds.
        arms: (name, ranker) of the audited recommender and of the control.
        personas: the scripts.
        puppets: puppets per (arm, persona).
        warmup_days: days the society runs before the first puppet session.
        steps: puppet sessions per puppet.
        step_ticks: ticks between two sessions of a puppet.
        follow: ``popular`` (the most followed accounts) or ``random`` accounts as the seed set.
        n_follow: accounts in the seed set.
        scroll: posts a puppet scrolls through at the top of each feed; only these are
            impressions and only these are measured (audits record the top recommendations).
    """

    seed: int
    world: WorldParams
    behaviour: BehaviourParams
    platform: PlatformParams
    society_ranker: Ranker
    arms: tuple[tuple[str, Ranker], ...]
    personas: tuple[PersonaParams, ...]
    puppets: int
    warmup_days: int
    steps: int
    step_ticks: int
    follow: str
    n_follow: int
    scroll: int = 10

    @property
    def n_society(self) -> int:
        """People of the society, without puppets."""
        return self.world.n_people

    def group_ids(self, arm: int, persona: int) -> IntArray:
        """Account ids of the puppets of (arm, persona)."""
        first = self.n_society + (arm * len(self.personas) + persona) * self.puppets
        return np.arange(first, first + self.puppets, dtype=np.int64)

    def arm_ids(self, arm: int) -> IntArray:
        """Account ids of every puppet of ``arm``, persona by persona."""
        first = self.n_society + arm * len(self.personas) * self.puppets
        return np.arange(first, first + len(self.personas) * self.puppets, dtype=np.int64)


def start_audit(cell: AuditCell) -> tuple[Setup, SimState]:
    """The society at tick 0 with the puppets added: silent accounts following the seed set."""
    n = cell.n_society
    total = n + len(cell.arms) * len(cell.personas) * cell.puppets
    streams = Streams(root_seed=cell.seed)
    world_params = cell.world.model_copy(update={"n_people": total})
    setup = Setup(
        world=world_params,
        behaviour=cell.behaviour,
        platform=cell.platform,
        ranker=cell.society_ranker,
        streams=streams,
        pairs=homogenization_pairs(n, streams),
    )
    state = start(setup)
    world = state.world
    puppet = np.arange(total) >= n
    people = replace(
        world.people,
        sessions_per_day=np.where(puppet, 0.0, world.people.sessions_per_day).astype(np.float32),
        posts_per_day=np.where(puppet, 0.0, world.people.posts_per_day).astype(np.float32),
    )
    graph = world.graph
    src = np.repeat(np.arange(total, dtype=np.int64), graph.following_counts())
    dst = graph.following.astype(np.int64)
    keep = (src < n) & (dst < n)
    if cell.follow == "popular":
        seeds = np.argsort(-graph.follower_counts()[:n], kind="stable")[: cell.n_follow]
    else:
        seeds = streams.rng(AUDIT_PUPPETS).choice(n, size=cell.n_follow, replace=False)
    puppets = np.flatnonzero(puppet)
    graph = graph_from_edges(
        np.concatenate([src[keep], np.repeat(puppets, seeds.size)]),
        np.concatenate([dst[keep], np.tile(seeds.astype(np.int64), puppets.size)]),
        total,
    )
    state.world = replace(world, people=people, graph=graph)
    state.platform.follows = observe_follows(graph)
    return setup, state


def _stack(parts: list[Responses]) -> Responses:
    return Responses(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Responses)}
    )


def puppet_sessions(
    state: SimState, setup: Setup, cell: AuditCell, step_index: int, tick: int
) -> list[AuditRow]:
    """One session for every puppet at ``tick``: rank, answer by script, log, learn, measure.

    All arms are served before any learning, so no arm sees the other's fresh impressions first.
    """
    world = state.world
    posts = world.posts
    view = observe_posts(posts)
    clock = world.clock
    lifetime = clock.ticks(setup.world.posts.lifetime_hours)
    hour = clock.hour(tick)
    rows: list[AuditRow] = []
    logged = []
    for a, (arm, ranker) in enumerate(cell.arms):
        persons = cell.arm_ids(a)
        rng = setup.streams.rng(AUDIT_RANK, tick)  # the same stream for every arm
        explore = setup.streams.rng(AUDIT_EXPLORE, tick)
        served = serve(
            state.platform, view, persons, ranker, setup.platform, rng, tick, lifetime, explore
        )
        parts = []
        for p, persona in enumerate(cell.personas):
            block = slice(p * cell.puppets, (p + 1) * cell.puppets)
            feed = served.slots[block].copy()
            feed[:, cell.scroll :] = -1  # below the scroll depth: never seen, not measured
            parts.append(scripted_responses(persona, step_index, posts, feed))
            values = feed_measures(
                posts,
                feed,
                persona.sign,
                setup.world.n_topics,
                setup.world.posts.outrage_threshold,
                persona.extreme,
            )
            rows.extend(
                (arm, cell.seed, persona.name, step_index, name, value)
                for name, value in values.items()
            )
        logged.append((persons, served, _stack(parts)))
    for persons, served, responses in logged:
        log = observe_impressions(tick, persons, served.post_ids, responses)
        learn_from_log(state.platform, log, served, view, setup.platform, hour, clock.ticks_per_day)
    return rows


def run_audit_cell(
    cell: AuditCell,
    on_step: Callable[[int], None] | None = None,
    rows: list[AuditRow] | None = None,
) -> list[AuditRow]:
    """Run one seed of an audit and return its rows.

    Args:
        cell: what to run.
        on_step: called with the number of puppet steps finished, for progress.
        rows: a list to append rows to as they are measured (kept by the caller if a
            recommender fails part-way); a new list if omitted.
    """
    setup, state = start_audit(cell)
    rows = [] if rows is None else rows
    first = cell.warmup_days * state.world.clock.ticks_per_day
    last = first + cell.steps * cell.step_ticks
    while state.tick < last:
        tick = state.tick
        step(state, setup)
        if tick >= first and (tick - first) % cell.step_ticks == 0:
            index = (tick - first) // cell.step_ticks
            rows.extend(puppet_sessions(state, setup, cell, index, tick))
            if on_step is not None:
                on_step(index + 1)
    return rows
