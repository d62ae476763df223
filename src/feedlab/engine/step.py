"""One tick of the simulation, as an explicit pipeline over struct-of-arrays state.

1. People write new posts; the platform indexes them and fans them out to followers.
2. Who opens the app is drawn from habit, time of day and the day's budget.
3. The platform sources candidates for every open session, predicts every action, ranks.
4. People answer each impression from their true state.
5. Shares become reshares (cascades grow), likes reward authors, follows are queued.
6. The platform logs only what it can see and its digital model learns.
7. Opinions, affect, habit, well-being and tastes drift.
8. The day's metric tally is updated; at midnight it is closed into one row per metric.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from feedlab.behaviour.choice import respond
from feedlab.behaviour.controls import set_controls
from feedlab.behaviour.creation import draw_posts
from feedlab.behaviour.drift import drift
from feedlab.behaviour.params import BehaviourParams
from feedlab.behaviour.sessions import open_app
from feedlab.behaviour.social import social_effects
from feedlab.behaviour.survey import answer_worth
from feedlab.core.arrays import IntArray
from feedlab.core.random import (
    METRICS_SAMPLE,
    PLATFORM_EXPLORE,
    PLATFORM_RANK,
    PLATFORM_SURVEY,
    Streams,
)
from feedlab.engine import interventions as iv
from feedlab.engine.goals import (
    Goals,
    close_goals_day,
    log_tick,
    notify,
    reachable,
    serve_tested,
    show_ads,
    start_goals,
)
from feedlab.engine.trace import Tracer
from feedlab.metrics.daily import (
    DayTally,
    close_day,
    tally_closed_cascades,
    tally_posts,
    tally_sessions,
)
from feedlab.platform.observe import (
    observe_controls,
    observe_follows,
    observe_impressions,
    observe_posts,
    observe_survey,
)
from feedlab.platform.rankers.base import Ranker, Remembers
from feedlab.platform.state import (
    PlatformParams,
    PlatformState,
    end_day,
    ingest_posts,
    init_platform,
    learn_from_log,
    refresh,
    remember_feedback,
    start_ranker_memory,
)
from feedlab.platform.survey import choose_respondents
from feedlab.world.bots import AdversaryParams
from feedlab.world.clock import rhythm
from feedlab.world.graph import add_follows
from feedlab.world.world import World, WorldParams, init_world


@dataclass(frozen=True, slots=True)
class Setup:
    """Everything fixed for one run: parameters, the ranker and the streams."""

    world: WorldParams
    behaviour: BehaviourParams
    platform: PlatformParams
    ranker: Ranker
    streams: Streams
    pairs: IntArray  # (n_pairs, 2) fixed random pairs of people for homogenization
    trace: Tracer | None = None  # records tracked people's feeds and beliefs (engine/trace.py)
    interventions: iv.Interventions = field(default_factory=iv.Interventions)
    adversaries: AdversaryParams = field(default_factory=AdversaryParams)


@dataclass
class SimState:
    """The state carried from tick to tick."""

    world: World
    platform: PlatformState
    tick: int
    tally: DayTally
    follow_src: list[IntArray] = field(default_factory=list)
    follow_dst: list[IntArray] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    extra: iv.Runtime | None = None  # interventions and adversaries (engine/interventions.py)
    goals: Goals | None = None  # ads, notifications, optimizer, consent (None when all off)

    def lap(self, stage: str, since: float) -> float:
        """Add the time since ``since`` to ``stage``'s total; return the current time."""
        now = time.perf_counter()
        self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + now - since
        return now


def homogenization_pairs(n_people: int, streams: Streams, n_pairs: int = 2000) -> IntArray:
    """Fixed random pairs of distinct people, the same under every arm."""
    rng = streams.rng(METRICS_SAMPLE, 0)
    a = rng.integers(0, n_people, n_pairs)
    b = (a + rng.integers(1, n_people, n_pairs)) % n_people
    return np.stack([a, b], axis=1).astype(np.int64)


def start(setup: Setup) -> SimState:
    """The state at tick 0: a fresh society and a platform that knows nothing."""
    world = init_world(setup.world, setup.streams)
    # --- interventions and adversaries: the bot network joins the world ---
    world, extra = iv.start_world(world, setup.interventions, setup.adversaries, setup.streams)
    # ---
    platform = init_platform(
        world.n_people,
        setup.world.n_topics,
        world.posts.capacity,
        observe_follows(world.graph),
        setup.platform,
    )
    # Rankers that remember start empty; feed controls are set once, when they are offered.
    wants = isinstance(setup.ranker, Remembers) and setup.ranker.wants_controls
    controls = (
        set_controls(world.people, setup.behaviour.controls, setup.streams) if wants else None
    )
    start_ranker_memory(
        platform,
        setup.ranker,
        world.posts.capacity,
        observe_controls(controls) if controls is not None else None,
    )
    goals = start_goals(
        setup.platform, setup.ranker, world.n_people, setup.world.n_topics,
        world.clock.ticks_per_day, setup.streams,
    )  # fmt: skip
    return SimState(
        world=world, platform=platform, tick=0, tally=_new_tally(setup), extra=extra, goals=goals
    )


def _new_tally(setup: Setup) -> DayTally:
    return DayTally(n_people=setup.world.n_people, n_topics=setup.world.n_topics)


def step(state: SimState, setup: Setup) -> dict[str, float] | None:
    """Advance ``state`` by one tick (in place); return the day's metrics at midnight."""
    world, t, streams = state.world, state.tick, setup.streams
    clock = world.clock
    hour = clock.hour(t)
    lifetime = clock.ticks(setup.world.posts.lifetime_hours)
    threshold = setup.world.posts.outrage_threshold
    people, posts = world.people, world.posts
    view = observe_posts(posts)
    b = setup.behaviour
    ivs, extra = setup.interventions, state.extra
    assert extra is not None  # set by start()

    clock0 = time.perf_counter()
    activity = rhythm(hour, people.phase_hours)  # read by posting and by opening the app
    # 1. new posts
    fields = draw_posts(
        people, b.creation, setup.world.posts.false_rate, setup.world.posts.slant_noise,
        hour, clock.tick_hours, streams, t, activity,
    )  # fmt: skip
    # --- interventions and adversaries: bots post, removed accounts do not ---
    fields = iv.write_posts(
        extra, setup.adversaries, world, fields, setup.world.posts.slant_noise, t, streams
    )
    # ---
    new_ids = posts.append(t, lifetime, **fields)
    ingest_posts(state.platform, view, new_ids)
    # --- interventions and adversaries: bots amplify; the detector counts posts ---
    iv.after_posts(
        extra, ivs, setup.adversaries, state.platform, world, view, new_ids, t, lifetime, streams
    )
    # ---
    tally_posts(state.tally, posts, posts.slots_of(new_ids), threshold)
    clock0 = state.lap("posts", clock0)

    # 2. sessions
    persons: IntArray = np.flatnonzero(
        open_app(people, b.sessions, hour, clock.tick_hours, streams, t, activity)
    )
    # --- platform goals: growth notifications bring people in; people who left stay away ---
    if state.goals is not None:
        opened = np.zeros(world.n_people, bool)
        opened[persons] = True
        people, notified = notify(
            state.goals, people, setup.platform, b.reactions, streams, t, clock.ticks_per_day
        )
        persons = np.flatnonzero(reachable(state.goals, opened, notified))
    # --- end platform goals ---
    persons = iv.in_session(extra, persons)  # bots and removed accounts do not scroll
    clock0 = state.lap("sessions", clock0)

    # 3. feeds
    refresh(state.platform, view, setup.platform, t, lifetime)
    # --- interventions: verdicts and removals reach the platform; filters and demotions ---
    iv.before_feeds(extra, ivs, world, view, t, streams)
    ranker = iv.feed_ranker(extra, ivs, state.platform, setup.ranker)
    # ---
    served = serve_tested(
        state.goals, state.platform, view, persons, ranker, setup.platform,
        streams.rng(PLATFORM_RANK, t), t, lifetime, streams.rng(PLATFORM_EXPLORE, t),
    )  # fmt: skip
    persons = served.persons  # bucket order when a ranking weight is under test
    clock0 = state.lap("feeds", clock0)

    # 4. responses
    # --- interventions: social proof and labels shift the odds; nudges, prompts, breaker ---
    shift = iv.response_shift(extra, ivs, b, state.platform, view, served)
    responses = respond(people, posts, persons, served.slots, b.choice, streams, t, shift=shift)
    responses = iv.after_responses(extra, ivs, world, view, persons, served, responses, t, streams)
    # ---
    # --- platform goals: ads auctioned into the feeds' ad slots and answered ---
    if state.goals is not None:
        people = show_ads(
            state.goals, people, state.platform, setup.platform, b.reactions,
            b.drift.confidence, persons, responses.seen, streams, t, clock.ticks_per_day,
        )  # fmt: skip
    # --- end platform goals ---
    clock0 = state.lap("responses", clock0)

    # 5. social consequences
    effects = social_effects(posts, persons, served.slots, responses, world.n_people)
    reshare_ids = posts.append(t, lifetime, **effects.reshares)
    state.follow_src.append(effects.follow_src)
    state.follow_dst.append(effects.follow_dst)
    clock0 = state.lap("social", clock0)

    # 6. the platform logs and learns
    log = observe_impressions(t, persons, served.post_ids, responses)
    if state.goals is not None:  # --- platform goals: consent redaction, usage, growth log ---
        log = log_tick(
            state.goals, log, view, setup.platform, responses.dwell_seconds, hour, t,
            clock.ticks_per_day,
        )  # fmt: skip
    learn_from_log(state.platform, log, served, view, setup.platform, hour, clock.ticks_per_day)
    ingest_posts(state.platform, view, reshare_ids)
    # 6b. rankers that remember learn too (bridging's log window, stated preference's survey)
    if isinstance(setup.ranker, Remembers):
        survey, share = None, setup.ranker.survey_share()
        if share > 0:
            rows, cols = choose_respondents(responses.seen, share, streams.rng(PLATFORM_SURVEY, t))
            worth = answer_worth(
                people, posts, persons[rows], cols, served.slots[rows, cols], b.survey, streams, t
            )
            survey = observe_survey(
                t, rows, cols, persons[rows], served.post_ids[rows, cols], worth
            )
        remember_feedback(
            state.platform, setup.ranker, log, served, view, survey, clock.ticks_per_day
        )
    iv.after_reshares(extra, ivs, view, reshare_ids)  # the bot detector counts reshares
    clock0 = state.lap("learning", clock0)

    # 7. people drift
    engaged = responses.click | responses.like | responses.share | responses.reply
    people = drift(
        people, posts, persons, served.slots, responses.seen, engaged,
        responses.dwell_seconds, effects.approval, b.drift, clock.ticks_per_day,
    )  # fmt: skip
    clock0 = state.lap("drift", clock0)

    # -- trace (engine/trace.py): read-only; one `is None` check when off --
    if setup.trace is not None:
        setup.trace.record(t, setup, world, people, state.platform, persons, served, responses)
    # -- end trace --

    # 8. metrics
    tally_sessions(
        state.tally, people, posts, persons, served.slots, responses.seen, engaged,
        responses.dwell_seconds, served.predictions, threshold,
        streams.rng(METRICS_SAMPLE, t + 1),
    )  # fmt: skip
    tally_closed_cascades(state.tally, posts, t, lifetime)

    row = None
    if clock.is_day_end(t):
        row = close_day(state.tally, people, state.platform.model, setup.pairs)
        row.update(iv.close_day(extra, ivs, t))  # interventions' and adversaries' metrics
        if state.goals is not None:  # --- platform goals: daily metrics and the optimizer ---
            row.update(
                close_goals_day(
                    state.goals, people, state.platform, setup.platform, b.reactions,
                    streams, t, clock.ticks_per_day,
                )
            )  # fmt: skip
        state.tally = _new_tally(setup)
        people = people.start_day()
        graph = add_follows(
            world.graph, np.concatenate(state.follow_src), np.concatenate(state.follow_dst)
        )
        state.follow_src, state.follow_dst = [], []
        end_day(state.platform, observe_follows(graph), setup.platform)
        world = replace(world, graph=graph)
    state.lap("metrics", clock0)
    state.world = replace(world, people=people)
    state.tick = t + 1
    return row
