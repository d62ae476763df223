"""The platform's three goals inside the tick: notifications, ads, constant testing, consent.

Each function here is one clearly delimited stage that ``engine.step`` calls only when the
corresponding ``platform`` block is enabled, so the default configuration runs exactly as before.
The stages keep the world/platform boundary: the platform parts (growth policy, ad auction,
optimizer, log redaction) receive only the platform's own log and settings; people's reactions
come from :mod:`feedlab.behaviour.reactions`; truth-based scores from :mod:`feedlab.metrics.goals`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from feedlab.behaviour.reactions import (
    Reach,
    ReactionParams,
    init_reach,
    react_to_ads,
    react_to_notifications,
    recover,
)
from feedlab.core.arrays import BoolArray, F64Array, IntArray, cells
from feedlab.core.errors import ConfigError
from feedlab.core.random import PEOPLE_CONSENT, PLATFORM_ADS, PLATFORM_OPTIMIZER, Streams
from feedlab.metrics.goals import (
    GoalsTally,
    TrueUsage,
    inventory_metrics,
    leaning_mae,
    retention,
    tally_ads,
    true_criteria,
)
from feedlab.platform import ads as ad_book
from feedlab.platform import growth, optimizer
from feedlab.platform.consent import redact
from feedlab.platform.estimator import NIGHT_HOURS, Features
from feedlab.platform.observe import LOGGED_ACTIONS, ImpressionLog, PostView
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.state import PlatformParams, PlatformState, Served, serve
from feedlab.platform.targeting import inventory
from feedlab.world.people import People

HIDE = LOGGED_ACTIONS.index("hide")
SOCIAL_ACTIONS = [LOGGED_ACTIONS.index(a) for a in ("like", "share", "reply")]
SUBSCRIBED_DAYS = 7
"""A subscriber counts as retained while seen within this many days."""


@dataclass(frozen=True, slots=True)
class AdSlots:
    """The ad slots of one tick's feeds, kept for explanations only (nothing reads them back).

    Attributes:
        tick: the tick they were auctioned.
        position: feed slot of each ad slot, ``(n_sessions, width)``, -1 = none.
        winner: advertiser index of each ad slot, ``(n_sessions, width)``, -1 = unsold.
        price: price per click the winner pays (second price), ``(n_sessions, width)``.
        seen: whether the person saw the ad, ``(n_sessions, width)``.
        clicked: whether they clicked it, ``(n_sessions, width)``.
        charge: what the advertiser was charged, ``(n_sessions, width)``.
    """

    tick: int
    position: IntArray
    winner: IntArray
    price: F64Array
    seen: BoolArray
    clicked: BoolArray
    charge: F64Array


@dataclass
class Goals:
    """Everything the goal stages carry from tick to tick (platform parts and people's reach)."""

    reach: Reach
    opted_out: BoolArray  # (n_people,) opted out of tracking (a setting the platform holds)
    usage: TrueUsage  # ground truth, for metrics only
    tally: GoalsTally
    history: BoolArray  # (31, n_people) daily active masks, a ring
    day: int = 0
    ads: ad_book.AdState | None = None
    growth: growth.GrowthState | None = None
    optimizer: optimizer.OptimizerState | None = None
    revenue: F64Array = field(default_factory=lambda: np.zeros(0))  # (n_people,) today
    minutes: F64Array = field(default_factory=lambda: np.zeros(0))  # logged today
    hides: F64Array = field(default_factory=lambda: np.zeros(0))  # logged today
    notified: F64Array = field(default_factory=lambda: np.zeros(0))  # received today
    last_ads: AdSlots | None = None  # this tick's ad slots, for explanations only


def wanted(params: PlatformParams) -> bool:
    """Whether any goal stage is switched on."""
    return any(
        (
            params.ads.enabled,
            params.targeting.enabled,
            params.notifications.enabled,
            params.optimizer.enabled,
            params.consent.enabled,
        )
    )


def check_goal_settings(params: PlatformParams, ranker: Ranker, n_topics: int) -> None:
    """Check the goal blocks against the arm's ranker and the world, before anything runs.

    Raises:
        ConfigError: for an advertiser topic the world does not have, or an optimizer parameter
            ``ranker.<field>`` that the arm's ranker does not have.
    """
    if params.ads.enabled:
        ad_book.init_ads(params.ads, n_topics, 1)
    if params.optimizer.enabled:
        _tunable_start(params, ranker)


def _tunable_start(params: PlatformParams, ranker: Ranker) -> dict[str, float]:
    values: dict[str, float] = {
        "ad_load": params.ads.ad_load,
        "notifications_per_day": float(params.notifications.per_day),
    }
    for name in params.optimizer.parameters:
        if not name.startswith("ranker."):
            continue
        attr = name.split(".", 1)[1]
        fields = getattr(type(ranker), "model_fields", {})
        value = getattr(ranker, attr, None)
        if attr not in fields or not isinstance(value, int | float):
            raise ConfigError(
                f"platform.optimizer.parameters must name numeric fields of the arm's ranker ({type(ranker).__name__}), got {name!r}."
            )
        values[name] = float(value)
    return values


def start_goals(
    params: PlatformParams,
    ranker: Ranker,
    n_people: int,
    n_topics: int,
    ticks_per_day: int,
    streams: Streams,
) -> Goals | None:
    """The goal stages' state at tick 0, or None when every goal stage is off."""
    if not wanted(params):
        return None
    opted_out = np.zeros(n_people, bool)
    if params.consent.enabled:
        # The person's own choice: drawn from a people stream, common across arms.
        u = streams.uniform(PEOPLE_CONSENT, 0, np.arange(n_people))
        opted_out = u < params.consent.opt_out_share
    goals = Goals(
        reach=init_reach(n_people),
        opted_out=opted_out,
        usage=TrueUsage.empty(n_people),
        tally=GoalsTally(n_people),
        history=np.zeros((31, n_people), bool),
        revenue=np.zeros(n_people),
        minutes=np.zeros(n_people),
        hides=np.zeros(n_people),
        notified=np.zeros(n_people),
    )
    if params.ads.enabled:
        goals.ads = ad_book.init_ads(params.ads, n_topics, ticks_per_day)
    if params.notifications.enabled:
        goals.growth = growth.init_growth(n_people, ticks_per_day)
    if params.optimizer.enabled:
        goals.optimizer = optimizer.init_optimizer(
            _tunable_start(params, ranker), n_people, streams.counter_key(PLATFORM_OPTIMIZER, 0)
        )
        optimizer.start_test(goals.optimizer, params.optimizer, streams.rng(PLATFORM_OPTIMIZER, 0))
    return goals


def _per_person(goals: Goals, name: str, default: float, n: int) -> F64Array:
    if goals.optimizer is not None and name in goals.optimizer.values:
        return optimizer.value_of(goals.optimizer, name)
    return np.full(n, default)


# --- growth ------------------------------------------------------------------------------------


def notify(
    goals: Goals,
    people: People,
    params: PlatformParams,
    reactions: ReactionParams,
    streams: Streams,
    tick: int,
    ticks_per_day: int,
) -> tuple[People, BoolArray]:
    """Send this tick's notifications; return people after them and who opens the app because."""
    if goals.growth is None:
        return people, np.zeros(people.n_people, bool)
    n = people.n_people
    cap = np.round(_per_person(goals, "notifications_per_day", params.notifications.per_day, n))
    objective = params.objective
    cost = (1.0 - objective.ad_weight) * objective.notification_cost / max(objective.fee, 1e-9)
    items = goals.growth.queued.copy()
    # Switching notifications off is a setting the platform holds; an uninstalled app's push
    # token stops working, so the platform also stops pushing to people who left.
    unreachable = goals.reach.push_off | goals.reach.left
    kind = growth.choose(
        goals.growth, params.notifications, cap.astype(np.int64), unreachable,
        tick, ticks_per_day, cost,
    )  # fmt: skip
    goals.notified += kind >= 0
    people, goals.reach, opens = react_to_notifications(
        people, goals.reach, kind, items, reactions, streams, tick
    )
    return people, opens


def reachable(goals: Goals, opens: BoolArray, notified_opens: BoolArray) -> BoolArray:
    """Who is in session: natural opens and notification opens, minus people who left."""
    return (opens | notified_opens) & ~goals.reach.left


# --- constant testing: serving two rankers when a ranking weight is under test ----------------


def with_weights(ranker: Ranker, update: dict[str, float]) -> Ranker:
    """``ranker`` with some numeric fields changed; a wrapper (interventions) keeps its wrapping."""
    if hasattr(ranker, "model_copy"):
        return ranker.model_copy(update=update)
    inner = getattr(ranker, "inner", None)
    if inner is not None and dataclasses.is_dataclass(ranker):
        return dataclasses.replace(ranker, inner=with_weights(inner, update))
    raise ConfigError(
        f"platform.optimizer.parameters can tune ranker fields only of a parameterized ranker, got {type(ranker).__name__}."
    )


def serve_tested(
    goals: Goals | None,
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
    """Serve feeds; when a ranker weight is under test, serve each bucket its own ranker."""
    opt = goals.optimizer if goals is not None else None
    names = [n for n in (opt.values if opt else {}) if n.startswith("ranker.")]
    if opt is None or not names:
        return serve(state, view, persons, ranker, params, rng, tick, lifetime, explore_rng)
    shipped = with_weights(ranker, {n.split(".", 1)[1]: opt.values[n] for n in names})
    if not opt.parameter.startswith("ranker."):
        return serve(state, view, persons, shipped, params, rng, tick, lifetime, explore_rng)
    treated = with_weights(shipped, {opt.parameter.split(".", 1)[1]: opt.treatment_value})
    mask = opt.treated[persons]
    a = serve(state, view, persons[~mask], shipped, params, rng, tick, lifetime, explore_rng)
    b = serve(state, view, persons[mask], treated, params, rng, tick, lifetime, explore_rng)
    return Served(
        persons=np.concatenate([a.persons, b.persons]),
        post_ids=np.concatenate([a.post_ids, b.post_ids]),
        slots=np.concatenate([a.slots, b.slots]),
        in_network=np.concatenate([a.in_network, b.in_network]),
        features=Features(
            np.concatenate([a.features.shared, b.features.shared]),
            np.concatenate([a.features.person_logit, b.features.person_logit]),
            np.concatenate([a.features.post_logit, b.features.post_logit]),
        ),
        feature_row=np.concatenate(
            [
                a.feature_row,
                np.where(b.feature_row >= 0, b.feature_row + len(a.features.shared), -1),
            ]
        ),
        predictions=np.concatenate([a.predictions, b.predictions]),
    )


# --- ads ---------------------------------------------------------------------------------------


def show_ads(
    goals: Goals,
    people: People,
    platform: PlatformState,
    params: PlatformParams,
    reactions: ReactionParams,
    confidence: float,
    persons: IntArray,
    seen: BoolArray,
    streams: Streams,
    tick: int,
    ticks_per_day: int,
) -> People:
    """Auction the ad slots of this tick's feeds, let people answer them, charge the clicks."""
    book = goals.ads
    if book is None or persons.size == 0:
        return people
    ap = params.ads
    k = seen.shape[1]
    load = _per_person(goals, "ad_load", ap.ad_load, people.n_people)[persons]
    mask = ad_book.ad_positions(load, k)
    n_slots = mask.sum(axis=1)
    width = int(n_slots.max())
    if width == 0:
        return people
    rows, cols = cells(mask)
    position = np.full((persons.size, width), -1, np.int64)
    position[rows, (np.cumsum(mask, axis=1) - 1)[rows, cols]] = cols

    model = platform.model
    inv = inventory(model, persons, params.targeting, params.estimator.leaning_noise)
    eligible = ad_book.audience(ap, inv)
    rng = streams.rng(PLATFORM_ADS, tick)
    eligible &= rng.random(eligible.shape) < book.pace[None, :]
    pctr = ad_book.predicted_ctr(book, ap, model, persons, model.estimated_interest(persons))
    bids = np.array([a.bid for a in ap.advertisers])
    budgets = np.array([a.budget for a in ap.advertisers])
    winner, price = ad_book.allocate(
        bids, pctr, eligible, n_slots, ap.reserve, budgets - book.spent_today
    )
    shown = (winner >= 0) & (position >= 0)
    ad_seen = shown & np.take_along_axis(seen, np.maximum(position, 0), axis=1)
    ad = np.maximum(winner, 0)
    attr = {
        "topic": np.array([a.topic for a in ap.advertisers]),
        "slant": np.array([a.leaning for a in ap.advertisers], np.float32),
        "appeal": np.array([a.appeal for a in ap.advertisers], np.float32),
        "political": np.array([a.political for a in ap.advertisers]),
    }
    people, goals.reach, answers = react_to_ads(
        people, goals.reach, persons, ad_seen, attr["topic"][ad], attr["slant"][ad],
        attr["appeal"][ad], attr["political"][ad], reactions, confidence, streams, tick,
    )  # fmt: skip
    charge = ad_book.record_clicks(book, winner, price, ad_seen, answers.click)
    goals.last_ads = AdSlots(tick, position, winner, price, ad_seen, answers.click, charge)
    np.add.at(goals.revenue, persons, charge.sum(axis=1))
    book.traffic[tick % ticks_per_day] += persons.size
    ad_book.pace_update(book, ap, tick % ticks_per_day)
    tally_ads(
        goals.tally, people, goals.usage, ap.advertisers, params.targeting, persons,
        winner, ad_seen, answers.click, charge,
    )  # fmt: skip
    return people


# --- logging: consent, usage, growth's own log ------------------------------------------------


def log_tick(
    goals: Goals,
    log: ImpressionLog,
    view: PostView,
    params: PlatformParams,
    true_dwell: F64Array,
    hour: float,
    tick: int,
    ticks_per_day: int,
) -> ImpressionLog:
    """Redact the log for people who opted out; record usage; let growth learn from the log."""
    if params.consent.enabled:
        log = redact(log, goals.opted_out)
    persons = log.persons
    goals.tally.active[persons] = True
    night = bool(hour >= NIGHT_HOURS[0] or hour < NIGHT_HOURS[1])
    goals.usage.add(persons, true_dwell.sum(axis=1) / 60.0, night)
    np.add.at(goals.minutes, persons, log.dwell_seconds.sum(axis=1) / 60.0)
    np.add.at(goals.hides, persons, log.actions[:, :, HIDE].sum(axis=1))
    if goals.growth is not None:
        growth.observe_sessions(goals.growth, persons, tick, ticks_per_day)
        rows, cols = cells(log.seen)
        slots = view.slots_of(log.post_ids[rows, cols])
        weight = log.actions[rows, cols][:, SOCIAL_ACTIONS].sum(axis=1)
        goals.growth.social_signal = np.bincount(
            view.author[slots].astype(np.int64), weight, goals.growth.social_signal.size
        ).astype(np.float64)
    return log


# --- midnight ----------------------------------------------------------------------------------


def close_goals_day(
    goals: Goals,
    people: People,
    platform: PlatformState,
    params: PlatformParams,
    reactions: ReactionParams,
    streams: Streams,
    tick: int,
    ticks_per_day: int,
) -> dict[str, float]:
    """Close the day: the goal metrics, the optimizer's day, and the daily resets."""
    n = people.n_people
    row: dict[str, float] = {}
    t = goals.tally
    goals.history[goals.day % goals.history.shape[0]] = t.active
    if params.ads.enabled:
        row["ad_revenue"] = t.ad_revenue
        row["revenue_per_person"] = t.ad_revenue / n
        row["ad_impressions"] = float(t.ad_impressions)
        row["ad_ctr"] = t.ad_clicks / t.ad_impressions if t.ad_impressions else float("nan")
        row["ad_targeting_precision"] = (
            t.targeted_true / t.targeted_impressions if t.targeted_impressions else float("nan")
        )
    everyone = np.arange(n)
    if params.ads.enabled or params.targeting.enabled or params.consent.enabled:
        inv = inventory(platform.model, everyone, params.targeting, params.estimator.leaning_noise)
        truth = true_criteria(people, goals.usage, everyone, params.targeting)
        if params.ads.enabled or params.targeting.enabled:
            row.update(inventory_metrics(inv, truth))
    g = goals.growth
    if g is not None:
        row["notifications_sent"] = g.sent_day / n
        row["notification_open_rate"] = g.opened_day / g.sent_day if g.sent_day else float("nan")
        row.update(retention(goals.history, goals.day))
        row["churned_share"] = float(goals.reach.left.mean())
        row["notifications_disabled_share"] = float(goals.reach.push_off.mean())
    subscribed: BoolArray
    if g is not None:
        subscribed = (g.last_seen >= 0) & (tick - g.last_seen < SUBSCRIBED_DAYS * ticks_per_day)
    else:
        recent = [(goals.day - i) % 31 for i in range(min(SUBSCRIBED_DAYS, goals.day + 1))]
        subscribed = np.asarray(goals.history[recent].any(axis=0))
    value = optimizer.objective_value(
        params.objective, goals.revenue, goals.minutes, subscribed, goals.hides, goals.notified
    )
    row["objective_per_person"] = float(value.mean())
    opt = goals.optimizer
    if opt is not None:
        done = optimizer.record_day(opt, params.optimizer, value, goals.day)
        if done is not None:
            entry = opt.log[-1]
            prefix = f"optimizer.test.{entry['parameter']}."
            for key in ("control", "treatment", "effect", "ci_low", "ci_high", "shipped"):
                row[prefix + key] = float(entry[key])
            optimizer.start_test(opt, params.optimizer, streams.rng(PLATFORM_OPTIMIZER, tick + 1))
        row["experiments_run"] = float(len(opt.log))
        row["experiments_shipped"] = float(opt.shipped)
        for name, value_now in opt.values.items():
            row[f"optimizer.value.{name}"] = value_now
    if params.consent.enabled:
        out = goals.opted_out
        row["opt_out_share"] = float(out.mean())
        row["leaning_inference_mae_opt_out"] = leaning_mae(platform.model, people, out)
        row["leaning_inference_mae_opt_in"] = leaning_mae(platform.model, people, ~out)
        count = inv.count()
        row["criteria_per_person_opt_out"] = float(count[out].mean()) if out.any() else float("nan")
        row["criteria_per_person_opt_in"] = (
            float(count[~out].mean()) if (~out).any() else float("nan")
        )

    # daily resets
    goals.tally = GoalsTally(n)
    goals.usage.decay()
    goals.reach = recover(goals.reach, reactions)
    for array in (goals.revenue, goals.minutes, goals.hides, goals.notified):
        array[:] = 0.0
    if goals.ads is not None:
        ad_book.end_ad_day(goals.ads)
    if g is not None:
        growth.end_growth_day(g)
    goals.day += 1
    return row
