"""Advertising to the highest bidder: targeting, a generalized second-price auction, pacing.

Advertisers buy clicks from audiences defined on the platform's *inferred* criteria
(:mod:`feedlab.platform.targeting`), never on ground truth. Ad slots sit in the feed at a
configurable ad load. Each feed's ad slots are sold in one generalized second-price (GSP) position
auction ranked by bid x predicted click probability, as in search and feed ads (Edelman, Ostrovsky
& Schwarz 2007, *AER* 97(1); Varian 2007, *IJIO* 25(6)): the advertiser ranked ``j`` pays, per
click, the smallest bid that would keep its rank, ``max(score_{j+1}, reserve) / pCTR_j``, which never
exceeds its own bid. A reserve price (in expected value per impression) keeps low-value ads out.

Budgets are paced over the day by probabilistic throttling (Agarwal et al. 2014, "Budget pacing
for targeted online advertisements at LinkedIn", KDD): each advertiser enters an auction with a
probability that falls when its spend runs ahead of the day's traffic curve and rises when it lags.
A budget is never overspent: an advertiser wins at most ``floor(remaining / bid)`` slots in a tick,
and each slot is charged at most its bid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from feedlab.core.arrays import BoolArray, F64Array, FloatArray, IntArray, cells
from feedlab.core.errors import ConfigError
from feedlab.core.params import Params
from feedlab.platform.estimator import PersonModel
from feedlab.platform.targeting import Band, Flag, Inventory


class AdvertiserParams(Params):
    """One advertiser and its single creative.

    Attributes:
        name: label in results.
        budget: spend allowed per day (currency units).
        bid: maximum price per click.
        topic: the creative's topic.
        leaning: the creative's slant in [-1, 1] (0 for non-political ads).
        appeal: how attractive the creative truly is, in [0, 1] (the platform must learn it).
        political: whether it is a political ad (it then persuades those who see it).
        target_topics: reach people with an inferred affinity to any of these topics.
        target_leaning: reach one inferred leaning band, or ``any``.
        target_flags: reach people holding all these inferred life-state flags.
    """

    name: str = Field(min_length=1, max_length=64)
    budget: float = Field(ge=0)
    bid: float = Field(gt=0)
    topic: int = Field(0, ge=0)
    leaning: float = Field(0.0, ge=-1, le=1)
    appeal: float = Field(0.5, ge=0, le=1)
    political: bool = False
    target_topics: list[int] = Field(default_factory=list)
    target_leaning: Band = "any"
    target_flags: list[Flag] = Field(default_factory=list)

    @property
    def targeted(self) -> bool:
        """Whether the advertiser restricts its audience at all."""
        return bool(self.target_topics or self.target_leaning != "any" or self.target_flags)


class AdsParams(Params):
    """Ads in the feed.

    Attributes:
        enabled: serve ads and record the ad metrics.
        ad_load: share of feed slots that are ads, in [0, 1].
        reserve: minimum bid x predicted click probability for an ad to be shown.
        pacing: throttle advertisers to spread their budgets over the day.
        pacing_gain: how fast the throttle reacts to spend ahead of or behind schedule.
        ctr_prior: pseudo-impressions shrinking each advertiser's click rate to the mean.
        advertisers: the advertisers (at least one when ads are enabled).
    """

    enabled: bool = False
    ad_load: float = Field(0.1, ge=0, le=1)
    reserve: float = Field(0.002, ge=0)
    pacing: bool = True
    pacing_gain: float = Field(2.0, gt=0)
    ctr_prior: float = Field(200.0, gt=0)
    advertisers: list[AdvertiserParams] = Field(default_factory=list, max_length=256)

    @model_validator(mode="after")
    def _advertisers_when_enabled(self) -> AdsParams:
        if self.enabled and not self.advertisers:
            raise ConfigError(
                "platform.ads.advertisers must list at least one advertiser when platform.ads.enabled is true, got []."
            )
        return self


@dataclass
class AdState:
    """The platform's ad book: spend, throttles, and the click counts its predictions learn from."""

    spent_today: F64Array  # (n_advertisers,) currency spent since midnight
    pace: F64Array  # (n_advertisers,) probability of entering an auction
    impressions: F64Array  # (n_advertisers,) impressions served, all time
    clicks: F64Array  # (n_advertisers,) clicks logged, all time
    traffic: F64Array  # (ticks_per_day,) decayed sessions logged per tick of the day
    revenue_total: float = 0.0


def init_ads(params: AdsParams, n_topics: int, ticks_per_day: int) -> AdState:
    """An empty ad book.

    Raises:
        ConfigError: if an advertiser names a topic the world does not have.
    """
    for i, ad in enumerate(params.advertisers):
        for topic in [ad.topic, *ad.target_topics]:
            if topic >= n_topics:
                raise ConfigError(
                    f"platform.ads.advertisers[{i}] topics must be below world.n_topics ({n_topics}), got {topic!r}."
                )
    n = len(params.advertisers)
    return AdState(
        spent_today=np.zeros(n),
        pace=np.ones(n),
        impressions=np.zeros(n),
        clicks=np.zeros(n),
        traffic=np.ones(ticks_per_day),
    )


def ad_positions(load: FloatArray, k: int) -> BoolArray:
    """Which feed slots carry an ad, ``(len(load), k)``.

    Slot ``j`` carries one when the running ad count ``floor((j + 1) * load + 0.5)`` steps up,
    so ads are spread evenly (load 0.1: slots 4, 14, 24).
    """
    j = np.arange(k)[None, :]
    lo = np.floor(j * load[:, None] + 0.5)
    hi = np.floor((j + 1) * load[:, None] + 0.5)
    return hi > lo


def predicted_ctr(
    state: AdState,
    params: AdsParams,
    model: PersonModel,
    persons: IntArray,
    interest: FloatArray,
) -> FloatArray:
    """The platform's predicted click probability of each (person, advertiser), ``(n, n_ads)``.

    The advertiser's smoothed logged click rate, lifted by the person's inferred affinity to the
    creative's topic and their logged propensity to click (both from the digital model).
    """
    ads = params.advertisers
    mean = float(state.clicks.sum() + 1.0) / float(state.impressions.sum() + 50.0)
    rate = (state.clicks + params.ctr_prior * mean) / (state.impressions + params.ctr_prior)
    base = np.log(rate / (1.0 - rate))  # (n_ads,)
    topics = np.array([a.topic for a in ads], np.int64)
    affinity = interest[:, topics]  # (n, n_ads) in [0, 1]
    click_logit = model.person_logit[persons, 0][:, None]
    z = base[None, :] + 1.5 * (affinity - 0.5) + 0.5 * (click_logit - float(np.median(click_logit)))
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def audience(params: AdsParams, inv: Inventory) -> BoolArray:
    """Which advertisers target each person of the inventory, ``(n, n_ads)``."""
    return np.stack(
        [
            inv.matches(a.target_topics, a.target_leaning, a.target_flags)
            for a in params.advertisers
        ],
        axis=1,
    )


def gsp(
    bids: F64Array,
    pctr: FloatArray,
    eligible: BoolArray,
    n_slots: IntArray,
    reserve: float,
    width: int | None = None,
) -> tuple[IntArray, F64Array]:
    """A generalized second-price position auction per feed.

    Args:
        bids: per-click bid of each advertiser, ``(n_ads,)``.
        pctr: predicted click probability, ``(n, n_ads)``.
        eligible: which advertisers may enter each feed's auction, ``(n, n_ads)``.
        n_slots: ad slots of each feed, ``(n,)``.
        reserve: minimum score (bid x pCTR) to be shown.
        width: columns of the result (default: the most slots of any feed).

    Returns:
        ``(winner, price)``, each ``(n, max_slots)``: the advertiser in each ad slot by rank
        (-1 = unsold) and the price it pays per click,
        ``max(next score, reserve) / own pCTR`` (Edelman, Ostrovsky & Schwarz 2007).
    """
    n, n_ads = pctr.shape
    if width is None:
        width = int(n_slots.max()) if n_slots.size else 0
    score = np.where(eligible, bids[None, :] * pctr, -np.inf)
    score = np.where(score >= reserve, score, -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")
    ranked = np.take_along_axis(score, order, axis=1)
    pad = max(0, width + 1 - n_ads)
    ranked = np.concatenate([ranked, np.full((n, pad), -np.inf)], axis=1)
    order = np.concatenate([order, np.full((n, pad), -1)], axis=1)
    own = ranked[:, :width]
    following = np.maximum(ranked[:, 1 : width + 1], reserve)
    sold = np.isfinite(own) & (np.arange(width)[None, :] < n_slots[:, None])
    winner = np.where(sold, order[:, :width], -1)
    own_ctr = np.take_along_axis(pctr, np.maximum(winner, 0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        price = np.where(sold, following / own_ctr, 0.0)
    return winner.astype(np.int64), np.minimum(price, bids[np.maximum(winner, 0)]) * sold


def allocate(
    bids: F64Array,
    pctr: FloatArray,
    eligible: BoolArray,
    n_slots: IntArray,
    reserve: float,
    remaining: F64Array,
) -> tuple[IntArray, F64Array]:
    """GSP auctions over many feeds in which no advertiser can be charged beyond ``remaining``.

    Each win may be charged at most the winner's bid, so an advertiser may win at most
    ``floor(remaining / bid)`` slots. When the feeds' auctions would exceed that, the advertiser
    keeps its first wins (feed order) and the feeds where it lost are re-auctioned without it.
    Eligibility only shrinks, so rounds end; after ``4 x n_ads`` rounds an advertiser still over
    its capacity leaves every open auction, which ends the loop within ``n_ads`` more rounds.

    Returns:
        ``(winner, price)`` as :func:`gsp`.
    """
    n_ads = bids.size
    width = int(n_slots.max()) if n_slots.size else 0
    capacity = np.floor(np.maximum(remaining, 0.0) / bids + 1e-9).astype(np.int64)
    eligible = eligible & (capacity > 0)[None, :]
    winner, price = gsp(bids, pctr, eligible, n_slots, reserve, width)
    todo = np.arange(pctr.shape[0])
    rounds = 0
    while todo.size:
        wins = winner[todo]
        rows, cols = cells(wins >= 0)  # feed order, then slot order
        ads = wins[rows, cols]
        counts = np.bincount(ads, minlength=n_ads)
        over = counts > capacity
        if not over.any():
            break
        order = np.argsort(ads, kind="stable")
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        rank = np.empty(ads.size, np.int64)
        rank[order] = np.arange(ads.size) - starts[ads[order]]
        lost = over[ads] & (rank >= capacity[ads])
        eligible[todo[rows[lost]], ads[lost]] = False
        rounds += 1
        if rounds >= 4 * n_ads:
            eligible[np.ix_(todo, np.flatnonzero(over))] = False
        redo_local = np.unique(rows[lost])
        settled = np.setdiff1d(np.arange(todo.size), redo_local)
        settled_wins = wins[settled]
        capacity = capacity - np.bincount(settled_wins[settled_wins >= 0], minlength=n_ads)
        eligible[:, capacity <= 0] = False
        todo = todo[redo_local]
        winner[todo], price[todo] = gsp(
            bids, pctr[todo], eligible[todo], n_slots[todo], reserve, width
        )
    return winner, price


def pace_update(state: AdState, params: AdsParams, tick_of_day: int) -> None:
    """Adjust each advertiser's throttle toward the day's traffic-weighted spend schedule."""
    budgets = np.array([a.budget for a in params.advertisers])
    if not params.pacing:
        state.pace[:] = 1.0
        return
    share = state.traffic[: tick_of_day + 1].sum() / max(state.traffic.sum(), 1e-9)
    target = budgets * share
    with np.errstate(divide="ignore", invalid="ignore"):
        ahead = np.where(budgets > 0, (state.spent_today - target) / budgets, 1.0)
    state.pace = np.clip(state.pace * np.exp(-params.pacing_gain * ahead), 0.01, 1.0)


def record_clicks(
    state: AdState, winner: IntArray, price: F64Array, seen: BoolArray, clicked: BoolArray
) -> F64Array:
    """Charge clicked ads, learn from impressions; return each slot's charge ``(n, width)``."""
    n_ads = state.spent_today.size
    shown = (winner >= 0) & seen
    charge = np.where(shown & clicked, price, 0.0)
    ads = winner[shown]
    state.impressions += np.bincount(ads, minlength=n_ads)
    state.clicks += np.bincount(ads, (clicked[shown]).astype(np.float64), n_ads)
    spend = np.bincount(winner[shown & clicked], charge[shown & clicked], n_ads)
    state.spent_today += spend
    state.revenue_total += float(spend.sum())
    return charge


def end_ad_day(state: AdState) -> None:
    """Midnight: budgets renew and throttles open."""
    state.spent_today[:] = 0.0
    state.pace[:] = 1.0
