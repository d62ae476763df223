"""The notification policy: daily caps, settings respected, re-engagement, digests."""

from __future__ import annotations

import numpy as np

from feedlab.platform.growth import (
    CONTENT,
    DIGEST,
    REENGAGEMENT,
    SOCIAL,
    NotificationParams,
    choose,
    end_growth_day,
    init_growth,
    observe_sessions,
)

N, TPD = 500, 24


def test_nobody_gets_more_than_the_daily_cap_and_switched_off_people_get_nothing() -> None:
    params = NotificationParams(enabled=True, per_day=3, min_uplift=0.0)
    state = init_growth(N, TPD)
    off = np.arange(N) % 5 == 0
    cap = np.full(N, 3)
    received = np.zeros(N, int)
    for tick in range(TPD):
        kind = choose(state, params, cap, off, tick, TPD, 0.0)
        received += kind >= 0
        observe_sessions(state, np.array([], np.int64), tick, TPD)
    assert received.max() == 3
    assert received[off].sum() == 0
    end_growth_day(state)
    assert state.sent_today.sum() == 0


def test_a_per_person_cap_is_honoured() -> None:
    params = NotificationParams(enabled=True, per_day=10, min_uplift=0.0)
    state = init_growth(N, TPD)
    cap = np.where(np.arange(N) < N // 2, 1, 5)
    received = np.zeros(N, int)
    for tick in range(TPD):
        received += choose(state, params, cap, np.zeros(N, bool), tick, TPD, 0.0) >= 0
        observe_sessions(state, np.array([], np.int64), tick, TPD)
    assert received[: N // 2].max() == 1 and received[N // 2 :].max() == 5


def test_types_follow_the_signals_the_platform_logged() -> None:
    params = NotificationParams(enabled=True, per_day=5, min_uplift=0.0, lapsing_days=1.0)
    state = init_growth(N, TPD)
    tick = 3 * TPD
    state.last_seen[:] = tick - 1  # everyone seen an hour ago: nobody is lapsing
    state.last_seen[:50] = tick - 2 * TPD  # lapsing
    state.social_signal[100:150] = 2.0  # their posts were just liked
    state.type_opened[:] = [5.0, 1.0, 3.0, 1.0]  # social opens best, content worst
    kind = choose(state, params, np.full(N, 5), np.zeros(N, bool), tick, TPD, 0.0)
    assert (kind[:50] == REENGAGEMENT).all()
    assert (kind[100:150] == SOCIAL).all()
    assert (kind[200:] == CONTENT).all()


def test_the_interruption_cost_and_threshold_hold_pushes_back() -> None:
    params = NotificationParams(enabled=True, per_day=5, min_uplift=0.05)
    state = init_growth(N, TPD)
    free = choose(state, params, np.full(N, 5), np.zeros(N, bool), 12, TPD, 0.0)
    state = init_growth(N, TPD)
    costly = choose(state, params, np.full(N, 5), np.zeros(N, bool), 12, TPD, 1.0)
    assert (free >= 0).sum() > 0 and (costly >= 0).sum() == 0


def test_digests_bundle_the_day_into_one_delivery_at_the_digest_hour() -> None:
    params = NotificationParams(
        enabled=True, per_day=24, min_uplift=0.0, mode="digest", digest_hour=18.0
    )
    state = init_growth(N, TPD)
    deliveries = np.zeros(N, int)
    for tick in range(TPD):
        kind = choose(state, params, np.full(N, 24), np.zeros(N, bool), tick, TPD, 0.0)
        assert ((kind == DIGEST) | (kind == -1)).all()
        if tick != 18:
            assert (kind == -1).all()
        else:
            assert state.queued[kind == DIGEST].min() >= 1
        deliveries += kind == DIGEST
        observe_sessions(state, np.array([], np.int64), tick, TPD)
    assert deliveries.max() == 1 and deliveries.sum() > 0
    assert state.queued.sum() > 0  # items chosen after 18:00 wait for tomorrow's digest


def test_opens_after_a_push_are_learned_per_type() -> None:
    params = NotificationParams(enabled=True, per_day=5, min_uplift=0.0)
    state = init_growth(N, TPD)
    before = state.type_opened.copy()
    kind = choose(state, params, np.full(N, 5), np.zeros(N, bool), 10, TPD, 0.0)
    opened = np.flatnonzero(kind >= 0)[::2]
    observe_sessions(state, opened, 10, TPD)
    assert state.type_opened.sum() - before.sum() == opened.size
    assert state.last_seen[opened].tolist() == [10] * opened.size
    assert (state.pending == -1).all()
