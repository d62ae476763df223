"""The ad auction: second-price payments, the reserve, budgets never overspent, pacing, config."""

from __future__ import annotations

import re

import numpy as np
import pytest

from feedlab.core.errors import ConfigError
from feedlab.experiments.config import validate_config
from feedlab.platform.ads import (
    AdsParams,
    AdvertiserParams,
    ad_positions,
    allocate,
    gsp,
    init_ads,
    pace_update,
    record_clicks,
)


def _one(bids: list[float], pctr: list[float], slots: int = 1, reserve: float = 0.0):
    b = np.array(bids)
    p = np.array([pctr], np.float32)
    return gsp(b, p, np.ones_like(p, bool), np.array([slots]), reserve)


def test_the_winner_pays_the_runner_up_score_over_its_own_click_probability() -> None:
    winner, price = _one([1.0, 2.0, 0.5], [0.1, 0.1, 0.1])
    assert winner.tolist() == [[1]]
    np.testing.assert_allclose(price, [[1.0]])  # runner-up's bid at equal pCTR


def test_positions_are_ranked_by_bid_times_ctr_and_each_pays_the_next_score() -> None:
    winner, price = _one([1.0, 2.0, 0.5], [0.3, 0.1, 0.2], slots=2)
    # scores 0.3, 0.2, 0.1: ranks 0, 1; prices 0.2/0.3 and 0.1/0.1
    assert winner.tolist() == [[0, 1]]
    np.testing.assert_allclose(price, [[0.2 / 0.3, 1.0]], rtol=1e-6)


def test_the_reserve_sets_the_floor_and_keeps_low_scores_out() -> None:
    winner, price = _one([1.0, 0.1], [0.1, 0.1], slots=2, reserve=0.05)
    assert winner.tolist() == [[0, -1]]  # 0.01 < reserve: unsold
    np.testing.assert_allclose(price[0, 0], 0.05 / 0.1, rtol=1e-6)
    winner, _ = _one([1.0], [0.01], reserve=0.05)
    assert winner.tolist() == [[-1]]


def test_nobody_ever_pays_more_than_their_bid(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bids = rng.uniform(0.1, 2.0, 12)
    pctr = rng.uniform(0.001, 0.2, (500, 12)).astype(np.float32)
    eligible = rng.random((500, 12)) < 0.6
    winner, price = gsp(bids, pctr, eligible, rng.integers(0, 4, 500), 0.01)
    sold = winner >= 0
    assert (price[sold] <= bids[winner[sold]] + 1e-12).all()
    assert (price[sold] > 0).all() and (price[~sold] == 0).all()
    # an advertiser appears at most once per feed
    for row in winner:
        ads = row[row >= 0]
        assert ads.size == np.unique(ads).size


def test_allocation_never_lets_spend_exceed_the_remaining_budget(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_ads = 6
    bids = rng.uniform(0.2, 1.0, n_ads)
    remaining = np.array([0.0, 0.5, 1.0, 3.0, 50.0, 1000.0])
    pctr = rng.uniform(0.01, 0.3, (2000, n_ads)).astype(np.float32)
    winner, price = allocate(
        bids, pctr, np.ones((2000, n_ads), bool), np.full(2000, 3), 0.0, remaining
    )
    # even if every slot were clicked, nobody would be charged beyond what is left
    worst = np.bincount(winner[winner >= 0], price[winner >= 0], n_ads)
    assert (worst <= remaining + 1e-9).all()
    assert (winner != 0).all()  # no budget left: never shown
    # demand exceeds supply here: the budgets, not the allocation, limit what is sold
    capacity = np.floor(remaining / bids).sum()
    assert (winner >= 0).sum() >= 0.9 * capacity


def test_a_full_day_of_clicks_never_overspends(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ads = [AdvertiserParams(name=f"a{i}", budget=b, bid=0.5) for i, b in enumerate([2.0, 5.0, 1.0])]
    params = AdsParams(enabled=True, advertisers=ads)
    state = init_ads(params, n_topics=4, ticks_per_day=24)
    budgets = np.array([a.budget for a in ads])
    bids = np.array([a.bid for a in ads])
    for tick in range(24):
        n = 300
        pctr = rng.uniform(0.05, 0.5, (n, 3)).astype(np.float32)
        eligible = rng.random((n, 3)) < state.pace[None, :]
        winner, price = allocate(
            bids, pctr, eligible, np.full(n, 2), 0.0, budgets - state.spent_today
        )
        clicked = rng.random(winner.shape) < 0.6
        record_clicks(state, winner, price, np.ones(winner.shape, bool), clicked)
        pace_update(state, params, tick)
        assert (state.spent_today <= budgets + 1e-9).all()
    assert state.spent_today.sum() > 0.5 * budgets.sum()


def test_pacing_throttles_an_advertiser_that_spends_ahead_of_the_day() -> None:
    ads = [
        AdvertiserParams(name="fast", budget=10.0, bid=1.0),
        AdvertiserParams(name="slow", budget=10.0, bid=1.0),
    ]
    params = AdsParams(enabled=True, advertisers=ads)
    state = init_ads(params, n_topics=2, ticks_per_day=24)
    state.spent_today[:] = [8.0, 0.0]  # at 02:00 the schedule expects ~1.25
    pace_update(state, params, 2)
    assert state.pace[0] < 0.5 and state.pace[1] == 1.0
    before = state.pace[0]
    pace_update(state, params, 3)
    assert state.pace[0] < before


def test_clicks_are_charged_only_when_seen_and_clicked() -> None:
    params = AdsParams(enabled=True, advertisers=[AdvertiserParams(name="a", budget=9.0, bid=1.0)])
    state = init_ads(params, 2, 24)
    winner = np.array([[0, 0], [0, -1]])
    price = np.array([[0.4, 0.3], [0.2, 0.0]])
    seen = np.array([[True, False], [True, False]])
    clicked = np.array([[True, True], [False, False]])
    charge = record_clicks(state, winner, price, seen, clicked)
    np.testing.assert_allclose(charge, [[0.4, 0.0], [0.0, 0.0]])
    assert state.impressions[0] == 2 and state.clicks[0] == 1
    assert state.spent_today[0] == pytest.approx(0.4)


def test_ad_slots_are_spread_evenly_at_the_ad_load() -> None:
    mask = ad_positions(np.array([0.1, 0.0, 1.0, 0.25]), 30)
    assert np.flatnonzero(mask[0]).tolist() == [4, 14, 24]
    assert mask[1].sum() == 0 and mask[2].sum() == 30
    assert mask[3].sum() in (7, 8)


def _raw(**ads: object) -> dict[str, object]:
    return {"arms": [{"name": "a"}], "platform": {"ads": ads}}


def test_bad_ad_settings_get_a_clear_error() -> None:
    with pytest.raises(
        ConfigError, match=re.escape("platform.ads.ad_load must be less than or equal to 1")
    ):
        validate_config(_raw(ad_load=1.5))
    with pytest.raises(
        ConfigError,
        match=re.escape("platform.ads.advertisers[0].budget must be greater than or equal to 0"),
    ):
        validate_config(_raw(advertisers=[{"name": "x", "budget": -5.0, "bid": 1.0}]))
    with pytest.raises(
        ConfigError, match=re.escape("platform.ads.advertisers must list at least one advertiser")
    ):
        validate_config(_raw(enabled=True))
    with pytest.raises(
        ConfigError, match=re.escape("advertisers[0].target_flags[0] must be 'lonely_late_night'")
    ):
        validate_config(
            _raw(advertisers=[{"name": "x", "budget": 5.0, "bid": 1.0, "target_flags": ["sad"]}])
        )
    params = AdsParams(
        enabled=True, advertisers=[AdvertiserParams(name="x", budget=1.0, bid=1.0, topic=9)]
    )
    with pytest.raises(ConfigError, match=re.escape("must be below world.n_topics (4), got 9")):
        init_ads(params, n_topics=4, ticks_per_day=24)
