"""Interventions and adversaries in the tick: their registry, parameters and engine hooks.

An arm lists its interventions by name (``interventions = [{name = "misinfo-label", recall =
0.6}]``); each composes with any ranker. The mechanisms live beside what they act on:
``platform/interventions.py`` (labels, demotions, circuit breaker, bot detection),
``behaviour/interventions.py`` (how people answer labels, prompts and nudges; fact-checkers),
``world/bots.py`` and ``behaviour/bots.py`` (the bot network). This module wires them into
``engine/step.py``, one hook per stage, and does nothing when an arm has no interventions and the
society has no bots. Sources for every default are in ``docs/interventions.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
from pydantic import Field, ValidationError

from feedlab.behaviour.bots import bot_originals, bot_reshares, record_reshares, select
from feedlab.behaviour.choice import Responses
from feedlab.behaviour.interventions import (
    apply_share_friction,
    apply_time_nudge,
    fact_check,
    label_shift,
)
from feedlab.behaviour.params import BehaviourParams
from feedlab.behaviour.social_proof import displayed_likes_shift
from feedlab.core.arrays import FloatArray, IntArray, U32Array, cells
from feedlab.core.errors import ConfigError, UnknownComponentError, did_you_mean
from feedlab.core.params import Params
from feedlab.core.random import Streams
from feedlab.core.registry import Registry
from feedlab.metrics.interventions import (
    InterventionTally,
    close_intervention_day,
    tally_interventions,
)
from feedlab.platform.interventions import (
    HostilityRule,
    InterventionRanker,
    InterventionState,
    admit_reshares,
    due_reviews,
    expire_window,
    flag_accounts,
    init_intervention_state,
    labelled,
    observe_account_activity,
    record_reviews,
    record_verdicts,
    remove_flagged,
)
from feedlab.platform.observe import LOGGED_ACTIONS, PostView, observe_verdicts
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.state import PlatformState, Served, ingest_posts
from feedlab.world.bots import AdversaryParams, Bots, bot_follows, choose_bots
from feedlab.world.graph import add_follows
from feedlab.world.people import People
from feedlab.world.world import World

P = TypeVar("P", bound=Params)

# --- parameters, one class per intervention ------------------------------------------------


class MisinfoLabel(Params):
    """Fact-checkers rate false cascades after a delay; rated ones are labelled and demoted.

    Attributes:
        recall: share of false cascades the fact-checkers catch (Facebook's partners review a
            small share of what is flagged; 0.5 is generous).
        delay_hours: hours from posting to the verdict (Shao et al. 2016: fact-checks lag the
            misinformation they debunk by 10-20 hours).
        demotion: factor on a labelled cascade's reciprocal rank (Facebook 2017: a rated post
            loses about 80% of its future views).
        share_effect: log-odds subtracted from sharing a labelled post (Yaqub et al. 2020 and
            Mena 2020: labels cut sharing intentions; Clayton et al. 2020: "Rated false" tags
            lower perceived accuracy more than general warnings).
    """

    recall: float = Field(0.5, ge=0, le=1)
    delay_hours: float = Field(12.0, ge=0, le=24 * 14)
    demotion: float = Field(0.2, ge=0, le=1)
    share_effect: float = Field(0.7, ge=0, le=10)


class ShareFriction(Params):
    """A "read before you share" prompt on shares of posts the person has not opened.

    Attributes:
        open_probability: chance that a prompted person opens the post (Twitter 2020: 40% more
            opens after the prompt, 33% more opens before retweeting).
        abandon_probability: chance that a prompted person gives up the share (Twitter 2020
            reported that some did; the rate was not published).
    """

    open_probability: float = Field(0.33, ge=0, le=1)
    abandon_probability: float = Field(0.2, ge=0, le=1)


class CircuitBreaker(Params):
    """Caps reshare velocity: a cascade reaching ``cap`` reshares in the window is held.

    Attributes:
        cap: reshares a cascade may gather within ``window_hours`` before it is held.
        window_hours: length of the sliding window.
        review_hours: hours from holding to review.
        review_recall: chance that review finds a false cascade false (it then stays removed;
            otherwise it is released and exempt from the cap).
    """

    cap: int = Field(50, ge=1, le=10_000_000)
    window_hours: float = Field(6.0, gt=0, le=24 * 14)
    review_hours: float = Field(12.0, ge=0, le=24 * 14)
    review_recall: float = Field(0.7, ge=0, le=1)


class HiddenLikes(Params):
    """Like counts are not displayed (Instagram's 2019 test), removing social proof."""


class TimeLimitNudge(Params):
    """A daily time-limit reminder (Instagram "daily limit" 2018; Okeke et al. 2018).

    Attributes:
        threshold_min: minutes spent today after which the reminder appears.
        compliance: chance that a reminded person stops the session.
    """

    threshold_min: float = Field(45.0, ge=0, le=1440)
    compliance: float = Field(0.3, ge=0, le=1)


class NoOutOfNetwork(Params):
    """Only followed accounts' posts and reshares by followed accounts are candidates."""


class HostilityDemotion(Params):
    """Down-rank posts read as hostile to the viewer's side (Piccardi et al. 2024).

    Attributes:
        factor: demotion factor (0 puts hostile posts after every other candidate, as the
            Piccardi et al. re-ranking did).
        min_exclamations: exclamation marks from which the classifier reads a post as outraged.
        min_slant: classifier slant magnitude from which a post reads as partisan.
    """

    factor: float = Field(0.0, ge=0, le=1)
    min_exclamations: int = Field(2, ge=0, le=1000)
    min_slant: float = Field(0.3, ge=0, le=1)


class BotRemoval(Params):
    """Detect automated accounts from their behaviour and remove them after a delay.

    Attributes:
        posts_per_day: posts and reshares in a day from which an account is flagged (Varol et
            al. 2017 rank posting rate among the most telling bot features; Howard & Kollanyi
            2016 used 50 a day, which also catches hyperactive humans, so the default is one
            every ten minutes around the clock).
        coordinated_per_day: coordinated reshares in a day needed to flag an account.
        coordinated_share: share of the account's posts that must be coordinated.
        coordination_min: accounts resharing one cascade in the same tick that make the
            reshares coordinated (Pacheco et al. 2021).
        delay_hours: hours from flagging to removal (review before enforcement).
    """

    posts_per_day: float = Field(144.0, gt=0)
    coordinated_per_day: float = Field(10.0, ge=0)
    coordinated_share: float = Field(0.5, ge=0, le=1)
    coordination_min: int = Field(3, ge=2, le=100_000)
    delay_hours: float = Field(24.0, ge=0, le=24 * 60)


INTERVENTIONS: Registry[Params] = Registry("intervention")
"""Every intervention, by versioned name; a bare name means the latest version."""

for _name, _cls in (
    ("misinfo-label-v1", MisinfoLabel),
    ("share-friction-v1", ShareFriction),
    ("circuit-breaker-v1", CircuitBreaker),
    ("hidden-likes-v1", HiddenLikes),
    ("time-limit-nudge-v1", TimeLimitNudge),
    ("no-out-of-network-v1", NoOutOfNetwork),
    ("hostility-demotion-v1", HostilityDemotion),
    ("bot-removal-v1", BotRemoval),
):
    INTERVENTIONS.register(_name)(_cls)


@dataclass(frozen=True, slots=True)
class Interventions:
    """The interventions of one arm, at most one of each kind."""

    items: tuple[Params, ...] = ()

    def get(self, kind: type[P]) -> P | None:
        """The intervention of class ``kind``, or None if the arm does not use it."""
        for item in self.items:
            if isinstance(item, kind):
                return item
        return None

    def names(self) -> list[str]:
        """Registered names of the interventions, in the arm's order."""
        by_class = {INTERVENTIONS.factory(n): n for n in INTERVENTIONS.names()}
        return [by_class[type(item)] for item in self.items]


class InterventionParamsError(Exception):
    """Parameters of one listed intervention failed validation (formatted by the config)."""

    def __init__(self, index: int, error: ValidationError, model: type[Params]) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error
        self.model = model


def build_interventions(entries: list[dict[str, Any]], prefix: str) -> Interventions:
    """Validate an arm's list of interventions.

    Args:
        entries: tables ``{name = "...", <parameters>}``.
        prefix: the config path of the list, for messages (``arms[0].interventions``).

    Raises:
        ConfigError: for a missing, unknown or repeated name.
        InterventionParamsError: for bad parameters (the caller formats the pydantic error).
    """
    items: list[Params] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"{prefix}[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table with a name, got {entry!r}.")
        params = dict(entry)
        name = params.pop("name", None)
        if not isinstance(name, str):
            known = ", ".join(INTERVENTIONS.names())
            raise ConfigError(f"{where}.name must name an intervention ({known}), got {name!r}.")
        try:
            resolved = INTERVENTIONS.resolve(name)
        except UnknownComponentError:
            known = ", ".join(INTERVENTIONS.names())
            bare = sorted({n.rsplit("-v", 1)[0] for n in INTERVENTIONS.names()})
            hint = did_you_mean(name, [*INTERVENTIONS.names(), *bare])
            raise ConfigError(
                f"{where}.name must be a registered intervention ({known}), got {name!r}.{hint}"
            ) from None
        if resolved in seen:
            raise ConfigError(
                f"{where}.name must not repeat {prefix}[{seen[resolved]}], got {name!r} twice."
            )
        seen[resolved] = index
        factory = INTERVENTIONS.factory(resolved)
        try:
            items.append(factory(**params))
        except ValidationError as error:
            raise InterventionParamsError(index, error, factory) from None  # type: ignore[arg-type]
    return Interventions(tuple(items))


# --- the state the hooks carry ----------------------------------------------------------


@dataclass(slots=True)
class Runtime:
    """Interventions' and adversaries' state carried from tick to tick.

    ``bots`` is ground truth of the world; ``platform`` is what the platform keeps.
    """

    bots: Bots
    platform: InterventionState
    tally: InterventionTally
    feed_ranker: InterventionRanker | None = None  # this tick's, kept for explanations only


def _ticks(hours: float, tick_hours: float) -> int:
    return round(hours / tick_hours)


def start_world(
    world: World, interventions: Interventions, adversaries: AdversaryParams, streams: Streams
) -> tuple[World, Runtime]:
    """Add the bot network to a fresh world (bots follow targets, some follow back)."""
    bots = choose_bots(adversaries, world.people.leaning, streams)
    src, dst = bot_follows(bots, adversaries, world.people.leaning, streams)
    if src.size:
        world = replace(world, graph=add_follows(world.graph, src, dst))
    runtime = Runtime(
        bots=bots,
        platform=init_intervention_state(world.n_people, world.posts.capacity),
        tally=InterventionTally(n_people=world.n_people),
    )
    return world, runtime


def write_posts(
    rt: Runtime,
    adversaries: AdversaryParams,
    world: World,
    fields: dict[str, np.ndarray],
    slant_noise: float,
    tick: int,
    streams: Streams,
) -> dict[str, np.ndarray]:
    """The tick's originals: people's posts minus bots' and removed accounts', plus bots' posts.

    Bots write only on their schedule; removed accounts write nothing.
    """
    blocked = rt.bots.is_bot | rt.platform.removed
    if not blocked.any():
        return fields
    fields = select(fields, ~blocked[fields["author"]])
    if rt.bots.n_bots == 0:
        return fields
    active = ~rt.platform.removed[rt.bots.ids]
    extra = bot_originals(
        rt.bots, active, adversaries, world.people, slant_noise, tick,
        world.clock.tick_hours, streams,
    )  # fmt: skip
    if extra["author"].size == 0:
        return fields
    if fields["author"].size == 0:
        return extra
    return {name: np.concatenate([fields[name], extra[name]]) for name in extra}


def after_posts(
    rt: Runtime,
    interventions: Interventions,
    adversaries: AdversaryParams,
    platform: PlatformState,
    world: World,
    view: PostView,
    new_ids: U32Array,
    tick: int,
    lifetime: int,
    streams: Streams,
) -> None:
    """Bots amplify their campaign (through the circuit breaker); the detector counts posts."""
    removal = interventions.get(BotRemoval)
    if removal is not None:
        observe_account_activity(rt.platform, view, new_ids, removal.coordination_min)
    if rt.bots.n_bots == 0:
        return
    active = ~rt.platform.removed[rt.bots.ids]
    fields = bot_reshares(rt.bots, active, adversaries, world.posts, tick, streams)
    if fields["author"].size == 0:
        return
    breaker = interventions.get(CircuitBreaker)
    if breaker is not None:
        review = _ticks(breaker.review_hours, world.clock.tick_hours)
        ok = admit_reshares(rt.platform, view, fields["root"], breaker.cap, review, tick)
        fields = select(fields, ok)
    ids = world.posts.append(tick, lifetime, **fields)
    record_reshares(world.posts, fields)
    ingest_posts(platform, view, ids)
    if removal is not None:
        observe_account_activity(rt.platform, view, ids, removal.coordination_min)


def before_feeds(
    rt: Runtime, interventions: Interventions, world: World, view: PostView, tick: int,
    streams: Streams,
) -> None:  # fmt: skip
    """Verdicts due this tick reach the platform; flagged accounts whose delay is over go."""
    tick_hours = world.clock.tick_hours
    posts = world.posts
    label = interventions.get(MisinfoLabel)
    if label is not None:
        delay = _ticks(label.delay_hours, tick_hours)
        due = posts.id[(posts.id != 0) & (posts.depth == 0) & (posts.created == tick - delay)]
        verdicts = observe_verdicts(due, fact_check(posts, due, label.recall, streams, 0))
        record_verdicts(rt.platform, view, verdicts)
    breaker = interventions.get(CircuitBreaker)
    if breaker is not None:
        expire_window(rt.platform, tick, max(1, _ticks(breaker.window_hours, tick_hours)))
        due = due_reviews(rt.platform, tick)
        if due.size:
            rated = fact_check(posts, due, breaker.review_recall, streams, 1)
            record_reviews(rt.platform, view, observe_verdicts(due, rated))
    removal = interventions.get(BotRemoval)
    if removal is not None:
        remove_flagged(rt.platform, tick, _ticks(removal.delay_hours, tick_hours))


def in_session(rt: Runtime, persons: IntArray) -> IntArray:
    """Drop bots (which do not scroll) and removed accounts from the tick's sessions."""
    if rt.bots.n_bots == 0 and not rt.platform.removed.any():
        return persons
    return persons[~(rt.bots.is_bot[persons] | rt.platform.removed[persons])]


def feed_ranker(
    rt: Runtime, interventions: Interventions, platform: PlatformState, ranker: Ranker
) -> Ranker:
    """The arm's ranker under this tick's platform-side interventions (itself if there are none)."""
    label = interventions.get(MisinfoLabel)
    breaker = interventions.get(CircuitBreaker)
    removal = interventions.get(BotRemoval)
    hostility = interventions.get(HostilityDemotion)
    in_network_only = interventions.get(NoOutOfNetwork) is not None
    if not (label or breaker or removal or hostility or in_network_only):
        return ranker
    state = rt.platform
    rt.feed_ranker = InterventionRanker(
        inner=ranker,
        in_network_only=in_network_only,
        stopped_roots=(state.held_root, state.blocked_root) if breaker else (),
        removed_accounts=state.removed if removal else None,
        label_root=state.label_root if label else None,
        label_factor=label.demotion if label else 1.0,
        hostility=(
            HostilityRule(
                viewer_leaning=platform.model.estimated_leaning(),
                min_exclamations=hostility.min_exclamations,
                min_slant=hostility.min_slant,
                factor=hostility.factor,
            )
            if hostility
            else None
        ),
    )
    return rt.feed_ranker


def response_shift(
    rt: Runtime,
    interventions: Interventions,
    behaviour: BehaviourParams,
    platform: PlatformState,
    view: PostView,
    served: Served,
) -> FloatArray | None:
    """Log-odds shifts of the served slots: social proof of displayed likes, labels."""
    shift = None
    if interventions.get(HiddenLikes) is None and behaviour.social_proof.weight > 0:
        shift = displayed_likes_shift(
            served.slots, view.root, view.capacity, platform.model.post_actions,
            LOGGED_ACTIONS.index("like"), behaviour.social_proof,
        )  # fmt: skip
    label = interventions.get(MisinfoLabel)
    if label is not None:
        more = label_shift(labelled(rt.platform, view, served.slots), label.share_effect)
        shift = more if shift is None else shift + more
    return shift


def after_responses(
    rt: Runtime,
    interventions: Interventions,
    world: World,
    view: PostView,
    persons: IntArray,
    served: Served,
    responses: Responses,
    tick: int,
    streams: Streams,
) -> Responses:
    """Nudges and share prompts act on the responses; the breaker admits or refuses shares."""
    people: People = world.people
    nudges = prompts = 0
    nudge = interventions.get(TimeLimitNudge)
    if nudge is not None:  # minutes today equal the dwell the platform logged since midnight
        outcome = apply_time_nudge(
            responses, persons, people.minutes_today, nudge.threshold_min, nudge.compliance,
            streams, tick,
        )  # fmt: skip
        responses, nudges = outcome.responses, int(outcome.nudged.sum())
    friction = interventions.get(ShareFriction)
    if friction is not None:
        prompted = apply_share_friction(
            responses, persons, friction.open_probability, friction.abandon_probability,
            streams, tick,
        )  # fmt: skip
        responses, prompts = prompted.responses, prompted.prompts
    breaker = interventions.get(CircuitBreaker)
    if breaker is not None:
        rows, cols = cells(responses.share)
        roots = view.root[served.slots[rows, cols]]
        review = _ticks(breaker.review_hours, world.clock.tick_hours)
        ok = admit_reshares(rt.platform, view, roots, breaker.cap, review, tick)
        share = responses.share.copy()
        share[rows[~ok], cols[~ok]] = False
        responses = replace(responses, share=share)
    label = interventions.get(MisinfoLabel)
    marks = labelled(rt.platform, view, served.slots) if label is not None else None
    tally_interventions(
        rt.tally, world.posts, rt.bots, persons, served.slots, responses.seen, marks,
        prompts, nudges,
    )  # fmt: skip
    return responses


def after_reshares(
    rt: Runtime, interventions: Interventions, view: PostView, reshare_ids: U32Array
) -> None:
    """The detector counts people's reshares of this tick."""
    removal = interventions.get(BotRemoval)
    if removal is not None:
        observe_account_activity(rt.platform, view, reshare_ids, removal.coordination_min)


def close_day(rt: Runtime, interventions: Interventions, tick: int) -> dict[str, float]:
    """Midnight: the day's intervention metrics; the detector flags; daily counters reset."""
    row = close_intervention_day(rt.tally, rt.bots, rt.platform)
    removal = interventions.get(BotRemoval)
    if removal is not None:
        flag_accounts(
            rt.platform, tick, removal.posts_per_day, removal.coordinated_per_day,
            removal.coordinated_share,
        )  # fmt: skip
    rt.platform.labelled_today = rt.platform.held_today = rt.platform.refused_today = 0
    rt.tally = InterventionTally(n_people=rt.tally.n_people)
    return row
