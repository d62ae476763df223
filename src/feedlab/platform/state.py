"""The platform's state and its three per-tick operations: ingest posts, serve feeds, learn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from feedlab.core.arrays import FloatArray, IntArray, U32Array, cells
from feedlab.core.params import Params
from feedlab.platform import kernels
from feedlab.platform.ads import AdsParams
from feedlab.platform.candidates import (
    CandidateParams,
    Candidates,
    Inboxes,
    Pools,
    draw_explore,
    empty_inboxes,
    fan_out,
    gather_candidates,
    live_originals,
    push,
    refresh_pools,
)
from feedlab.platform.consent import ConsentParams
from feedlab.platform.estimator import (
    N_ACTIONS,
    EstimatorParams,
    Features,
    PersonModel,
    forget,
    init_person_model,
    learn_impressions,
    observe_own_posts,
    predict_pairs,
    reset_slots,
)
from feedlab.platform.growth import NotificationParams
from feedlab.platform.observe import FollowView, ImpressionLog, PostView, SurveyLog, UserControls
from feedlab.platform.optimizer import ObjectiveParams, OptimizerParams
from feedlab.platform.rankers.base import (
    Feedback,
    RankContext,
    Ranker,
    Remembers,
    reads_predictions,
)
from feedlab.platform.targeting import TargetingParams


class PlatformParams(Params):
    """Platform settings shared by every arm unless an arm overrides them.

    Attributes:
        feed_size: slots in one session's feed.
        candidates: candidate sources.
        estimator: how the digital model learns.
        ads: ads in the feed and their auction (off by default).
        targeting: the inventory of inferred criteria advertisers target.
        notifications: the growth team's notification policy (off by default).
        objective: the business model the optimizer and growth policy pursue.
        optimizer: the autonomous A/B optimizer (off by default).
        consent: tracking opt-out (off by default).
    """

    feed_size: int = Field(30, ge=1, le=1000)
    candidates: CandidateParams = CandidateParams()
    estimator: EstimatorParams = EstimatorParams()
    ads: AdsParams = AdsParams()
    targeting: TargetingParams = TargetingParams()
    notifications: NotificationParams = NotificationParams()
    objective: ObjectiveParams = ObjectiveParams()
    optimizer: OptimizerParams = OptimizerParams()
    consent: ConsentParams = ConsentParams()


@dataclass(slots=True)
class PlatformState:
    """Everything the platform keeps: its model of people, inboxes and pools."""

    model: PersonModel
    inboxes: Inboxes
    pools: Pools
    follows: FollowView
    ranker_memory: Any = None  # what a ranker that remembers keeps between ticks


@dataclass(frozen=True, slots=True)
class Served:
    """Feeds served to a batch of sessions, with what the model predicted for each slot."""

    persons: IntArray  # (n_sessions,)
    post_ids: U32Array  # (n_sessions, k) ids shown, 0 = empty
    slots: IntArray  # (n_sessions, k) ring slots, -1 = empty
    in_network: np.ndarray  # (n_sessions, k) bool
    features: Features  # flat (m, ...) arrays of the candidates scored
    feature_row: IntArray  # (n_sessions, k) row of each shown slot in ``features``, -1 = empty
    predictions: FloatArray  # (n_sessions, k, A) predicted probabilities, 0 for empty slots

    def shown_features(self, rows: IntArray, cols: IntArray) -> Features:
        """Features of the shown slots ``(rows[i], cols[i])``, flat."""
        return self.features.take(self.feature_row[rows, cols])


def init_platform(
    n_people: int, n_topics: int, capacity: int, follows: FollowView, params: PlatformParams
) -> PlatformState:
    """A platform that has logged nothing yet."""
    return PlatformState(
        model=init_person_model(n_people, n_topics, capacity),
        inboxes=empty_inboxes(n_people, params.candidates),
        pools=Pools(
            by_topic=np.zeros((n_topics, params.candidates.topic_pool), np.uint32),
            trending=np.zeros(params.candidates.trending, np.uint32),
        ),
        follows=follows,
    )


def ingest_posts(state: PlatformState, view: PostView, ids: U32Array) -> None:
    """Index new posts: reset their counters, learn from their text, fan them out to followers."""
    if ids.size == 0:
        return
    slots = view.slots_of(ids)
    reset_slots(state.model, slots)
    state.model = observe_own_posts(state.model, view, slots)
    fan_out(state.inboxes, state.follows, view.author[slots].astype(np.int64), ids)


def refresh(
    state: PlatformState, view: PostView, params: PlatformParams, tick: int, lifetime: int
) -> None:
    """Recompute the out-of-network pools from the logged engagement."""
    live = live_originals(view, tick, lifetime)
    state.pools = refresh_pools(
        view,
        live,
        state.model.engagements(live),
        state.model.post_impressions[live],
        state.model.topic_shown.shape[1],
        params.candidates,
        tick,
    )


def source_candidates(
    state: PlatformState,
    view: PostView,
    persons: IntArray,
    params: PlatformParams,
    tick: int,
    lifetime: int,
    explore_rng: np.random.Generator | None = None,
    interest: FloatArray | None = None,
) -> Candidates:
    """Candidates for ``persons``: their inboxes, the pools of their two top topics, trending.

    With ``platform.candidates.explore`` > 0, random live originals of the whole society follow
    (:func:`~feedlab.platform.candidates.draw_explore`), drawn from ``explore_rng``, at the
    end of each row.
    ``interest`` is the model's estimated topic profile of ``persons``, when already computed.

    Raises:
        ValueError: if exploration is on and no ``explore_rng`` is given.
    """
    if interest is None:
        interest = state.model.estimated_interest(persons)
    top_topics = (
        kernels.top_two(interest)
        if interest.shape[1] >= 2
        else np.argsort(-interest, axis=1, kind="stable")[:, :2]
    )
    drawn = None
    if params.candidates.explore > 0:
        if explore_rng is None:
            message = f"platform.candidates.explore = {params.candidates.explore} needs an exploration stream: pass explore_rng (the platform.explore stream of this tick)."
            raise ValueError(message)
        live = live_originals(view, tick, lifetime)
        drawn = draw_explore(view, live, persons.size, params.candidates.explore, explore_rng)
    return gather_candidates(
        persons, state.inboxes, state.pools, top_topics, view, params.candidates, tick, lifetime,
        drawn,
    )  # fmt: skip


def serve(
    state: PlatformState,
    view: PostView,
    persons: IntArray,
    ranker: Ranker,
    params: PlatformParams,
    rng: np.random.Generator,
    tick: int,
    lifetime: int,
    explore_rng: np.random.Generator | None = None,
) -> Served:
    """Source candidates, predict every action, rank, and return the feeds.

    Features and predictions are computed on the flat list of valid candidates only, then
    gathered into the padded ``(n_sessions, n_candidates)`` layout the rankers see; the feeds
    keep the flat features and each shown slot's row in them. For a ranker that never reads
    predictions (:class:`~feedlab.platform.rankers.base.IgnoresPredictions`) only the shown
    slots are predicted, after ranking: the model still learns from them, as ever.
    ``explore_rng`` draws the exploration candidates when ``platform.candidates.explore`` > 0
    (the ``platform.explore`` stream of the tick; see :func:`source_candidates`).
    """
    model = state.model
    interest = model.estimated_interest(persons)  # read by sourcing and by every prediction
    cands = source_candidates(state, view, persons, params, tick, lifetime, explore_rng, interest)
    # Padded layouts are one gather each: every empty cell points at an extra all-zero row.
    rows, _, slots, in_network, position = kernels.flat_candidates(cands.slots, cands.in_network)
    m = rows.size
    n, c = cands.slots.shape

    def scored(i: IntArray | slice) -> tuple[Features, FloatArray]:
        """Features of candidates ``i`` and their predictions, with an all-zero row appended."""
        return predict_pairs(
            model, view, persons, rows[i], slots[i], in_network[i], tick, lifetime, pad=True,
            interest=interest,
        )  # fmt: skip

    reads = reads_predictions(ranker)
    if reads:  # flat rows and each cell's row: laid out padded only if the ranker asks
        x, padded = scored(slice(None))
        given, rows_of_cells = padded, position
    else:  # the ranker never reads them: only the shown slots are predicted, below
        given, rows_of_cells = np.broadcast_to(np.float32(0), (n, c, N_ACTIONS)), None
    context = RankContext(
        candidates=cands, view=view, tick=tick, model=model, memory=state.ranker_memory,
        scored=given, position=rows_of_cells,
    )  # fmt: skip
    columns = ranker.rank(context, params.feed_size, rng)
    shown = columns >= 0
    post_ids, shown_slots, shown_in_network, row = kernels.chosen_cells(
        columns, position, cands.ids, cands.slots, cands.in_network, m
    )
    if not reads:
        at = cells(shown)
        keep = row[at]  # the candidate behind each shown slot
        x, padded = scored(keep)
        row = np.full(shown.shape, keep.size, np.int64)
        row[at] = np.arange(keep.size)
    return Served(
        persons=persons,
        post_ids=post_ids,
        slots=shown_slots,
        in_network=shown_in_network,
        features=x,
        feature_row=np.where(shown, row, -1),
        predictions=np.take(padded, row, axis=0),
    )


def learn_from_log(
    state: PlatformState,
    log: ImpressionLog,
    served: Served,
    view: PostView,
    params: PlatformParams,
    hour: float,
    ticks_per_day: int,
) -> None:
    """Update the digital model and remember what each person has seen."""
    state.model, who, roots = learn_impressions(
        state.model,
        log,
        view,
        served.features,
        served.feature_row,
        served.predictions,
        params.estimator,
        hour,
    )
    push(state.inboxes.seen, state.inboxes.seen_head, who, roots)


def end_day(state: PlatformState, follows: FollowView, params: PlatformParams) -> None:
    """Midnight: adopt the updated follow graph and let the day's counts decay."""
    state.follows = follows
    state.model = forget(state.model, params.estimator)


# --- Rankers that remember (bridging, stated preference, user controls) -----------------------


def start_ranker_memory(
    state: PlatformState,
    ranker: Ranker,
    capacity: int,
    controls: UserControls | None,
) -> None:
    """Give a ranker that remembers its empty memory (nothing for other rankers)."""
    if isinstance(ranker, Remembers):
        state.ranker_memory = ranker.start_memory(state.model.n_people, capacity, controls)


def remember_feedback(
    state: PlatformState,
    ranker: Ranker,
    log: ImpressionLog,
    served: Served,
    view: PostView,
    survey: SurveyLog | None,
    ticks_per_day: int,
) -> None:
    """Let a ranker that remembers learn from the tick's log (and survey answers)."""
    if not isinstance(ranker, Remembers):
        return
    feedback = Feedback(
        log=log,
        predictions=served.predictions,
        in_network=served.in_network,
        view=view,
        model=state.model,
        survey=survey,
        ticks_per_day=ticks_per_day,
    )
    state.ranker_memory = ranker.remember(state.ranker_memory, feedback)
