"""Person-side effects of interventions, fact-checkers, social proof and the bot network."""

import numpy as np
import pytest

from feedlab.behaviour.bots import bot_originals, bot_reshares, campaign, scheduled_counts
from feedlab.behaviour.choice import ChoiceParams, Responses, respond
from feedlab.behaviour.interventions import (
    apply_share_friction,
    apply_time_nudge,
    fact_check,
    label_shift,
)
from feedlab.behaviour.social_proof import (
    SocialProofParams,
    displayed_likes_shift,
    social_proof_shift,
)
from feedlab.core.random import Streams
from feedlab.world.bots import AdversaryParams, bot_follows, choose_bots
from feedlab.world.people import PeopleParams, generate_people
from feedlab.world.posts import empty_posts


def _responses(n: int, k: int, **arrays: np.ndarray) -> Responses:
    zero = np.zeros((n, k), bool)
    fields = {name: arrays.get(name, zero) for name in Responses.__slots__}
    fields["seen"] = arrays.get("seen", np.ones((n, k), bool))
    fields["dwell_seconds"] = arrays.get("dwell_seconds", np.full((n, k), 6.0, np.float32))
    return Responses(**fields)


def test_fact_checkers_catch_false_posts_at_the_recall_and_never_true_ones(seed: int) -> None:
    posts = empty_posts(1 << 14)
    ids = np.arange(1, 10_001, dtype=np.uint32)
    slots = posts.slots_of(ids)
    posts.id[slots] = ids
    posts.is_false[slots] = ids % 2 == 0
    streams = Streams(seed)
    rated = fact_check(posts, ids, 0.4, streams)
    assert not rated[~posts.is_false[slots]].any()
    assert rated[posts.is_false[slots]].mean() == pytest.approx(0.4, abs=0.03)
    assert np.array_equal(rated, fact_check(posts, ids, 0.4, streams))  # keyed by post id
    posts.id[slots[:10]] = 0  # gone from the ring: nothing to check
    assert not fact_check(posts, ids[:10], 1.0, streams).any()


def test_label_and_social_proof_shift_the_right_actions() -> None:
    marks = np.array([[True, False]])
    shift = label_shift(marks, 0.7)
    assert shift[0, 0].tolist() == pytest.approx([0, 0, -0.7, 0, 0, 0])
    assert not shift[0, 1].any()
    proof = social_proof_shift(np.array([[0.0, 99.0]]), SocialProofParams(weight=0.5))
    assert proof[0, 0].tolist() == [0] * 6
    assert proof[0, 1, :2].tolist() == pytest.approx([1.0, 1.0])  # 0.5 x log10(100)
    assert not proof[0, 1, 2:].any()


@pytest.mark.parametrize("weight", [0.0, 0.15, 2.5])
def test_displayed_likes_shift_equals_gathering_the_likes(seed: int, weight: float) -> None:
    """One pass over the slots gives social_proof_shift of the root's likes, bit for bit."""
    rng = np.random.default_rng(seed)
    capacity, n, k = 1 << 12, 300, 20
    root = rng.integers(1, 1 << 20, capacity).astype(np.uint32)
    counts = np.zeros((capacity, 7), np.float32)
    counts[:, 1] = np.where(rng.random(capacity) < 0.4, 0, rng.exponential(30, capacity))
    counts[:5, 1] = [-0.0, -2.0, np.nan, np.inf, 1e-30]  # never logged, but defined
    counts[:, 0] = 1e6  # other actions are not displayed
    feed = np.where(rng.random((n, k)) < 0.1, -1, rng.integers(0, capacity, (n, k)))
    feed[0, :5] = np.arange(5)
    root[:5] = np.arange(5) + capacity  # their own roots: slots 0-4
    params = SocialProofParams(weight=weight)
    likes = counts[(root[np.maximum(feed, 0)] & (capacity - 1)).astype(np.int64), 1]
    want = social_proof_shift(np.where(feed >= 0, likes, 0.0), params)
    got = displayed_likes_shift(feed, root, capacity, counts, 1, params)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    assert (got[..., 2:] == 0).all() and (got[feed < 0] == 0).all()
    assert displayed_likes_shift(feed[:0], root, capacity, counts, 1, params).shape == (0, k, 6)


def test_a_negative_share_shift_lowers_shares_with_the_same_dice(seed: int) -> None:
    people = generate_people(PeopleParams(), 2000, 8, np.random.default_rng(seed))
    posts = empty_posts(4096)
    rng = np.random.default_rng(seed)
    n = 3000
    ids = np.arange(1, n + 1, dtype=np.uint32)
    slots = posts.slots_of(ids)
    posts.id[slots] = ids
    posts.outrage[slots] = rng.random(n)
    posts.leaning[slots] = rng.uniform(-1, 1, n)
    posts.quality[slots] = 0.5
    persons = np.arange(2000)
    feed = slots[rng.integers(0, n, (2000, 10))]
    params = ChoiceParams(share_base=-2.0, stop_base=-6.0)
    streams = Streams(seed)
    plain = respond(people, posts, persons, feed, params, streams, 3)
    shift = label_shift(np.ones(feed.shape, bool), 2.0)
    shifted = respond(people, posts, persons, feed, params, streams, 3, shift=shift)
    assert shifted.share.sum() < 0.6 * plain.share.sum()
    assert not (shifted.share & ~plain.share).any()  # same dice: only fewer shares
    assert np.array_equal(shifted.click, plain.click)


def test_share_friction_acts_only_on_shares_of_unopened_posts(seed: int) -> None:
    n, k = 4000, 5
    share = np.zeros((n, k), bool)
    share[:, 0] = True
    click = np.zeros((n, k), bool)
    click[: n // 2, 0] = True  # half opened the post before sharing
    before = _responses(n, k, share=share, click=click)
    out = apply_share_friction(before, np.arange(n), 0.33, 0.2, Streams(seed), 1)
    assert out.prompts == n // 2
    assert out.responses.share[: n // 2, 0].all()  # opened posts are never prompted
    kept = out.responses.share[n // 2 :, 0]
    assert 1 - kept.mean() == pytest.approx(0.2, abs=0.03)
    opened = out.responses.click[n // 2 :, 0]
    assert opened[kept].mean() == pytest.approx(0.33, abs=0.03)
    assert not opened[~kept].any()


def test_time_nudge_cuts_the_feed_where_the_threshold_is_passed(seed: int) -> None:
    n, k = 3000, 10
    dwell = np.full((n, k), 60.0, np.float32)  # a minute per post
    minutes = np.zeros(n, np.float32)
    minutes[: n // 2] = 25.0  # half have 25 minutes today already
    before = _responses(n, k, dwell_seconds=dwell, like=np.ones((n, k), bool))
    out = apply_time_nudge(before, np.arange(n), minutes, 30.0, 0.5, Streams(seed), 2)
    assert not out.nudged[n // 2 :].any()
    assert out.nudged[: n // 2].all()
    assert out.complied[: n // 2].mean() == pytest.approx(0.5, abs=0.04)
    cut = out.responses.seen[: n // 2][out.complied[: n // 2]]
    assert cut[:, :5].all() and not cut[:, 5:].any()  # 25 + 5 minutes reached at slot 5
    assert not (out.responses.like & ~out.responses.seen).any()
    assert (out.responses.dwell_seconds[~out.responses.seen] == 0).all()


@pytest.fixture
def society(seed: int):
    people = generate_people(PeopleParams(), 1000, 8, np.random.default_rng(seed))
    return people, Streams(seed)


def test_bots_are_drawn_once_per_seed_and_split_between_sides(society) -> None:
    people, streams = society
    params = AdversaryParams(n_bots=40)
    bots = choose_bots(params, people.leaning, streams)
    again = choose_bots(params, people.leaning, streams)
    assert np.array_equal(bots.ids, again.ids)
    assert bots.n_bots == 40 and bots.is_bot.sum() == 40
    assert (bots.side == 1).sum() == 20
    src, dst = bot_follows(bots, params, people.leaning, streams)
    out = bots.is_bot[src]
    assert (src[out].size == 40 * 50) and not bots.is_bot[dst[out]].any()
    side_of = dict(zip(bots.ids.tolist(), bots.side.tolist(), strict=True))
    targets_side = np.sign(people.leaning[dst[out]]) + (people.leaning[dst[out]] == 0)
    assert np.array_equal(targets_side, [side_of[b] for b in src[out].tolist()])
    assert bots.is_bot[dst[~out]].all()  # follow-backs point at bots


def test_bots_post_on_schedule_and_amplify_their_side(society) -> None:
    people, streams = society
    params = AdversaryParams(n_bots=20, posts_per_day=24, reshare_probability=1.0)
    bots = choose_bots(params, people.leaning, streams)
    per_day = sum(scheduled_counts(bots, 6, t, 1.0) for t in range(24))
    assert (per_day == 6).all()
    assert (scheduled_counts(bots, 24, 3, 1.0) == 1).all()  # one an hour, every bot
    posts = empty_posts(4096)
    active = np.ones(bots.n_bots, bool)
    total = 0
    for t in range(4):
        fields = bot_originals(bots, active, params, people, 0.3, t, 1.0, streams)
        if fields["author"].size:
            assert bots.is_bot[fields["author"]].all()
            assert (fields["outrage"] > 0.4).mean() > 0.9
            side = dict(zip(bots.ids.tolist(), bots.side.tolist(), strict=True))
            signs = np.array([side[a] for a in fields["author"].tolist()])
            assert (np.sign(fields["leaning"]) == signs).all()
            posts.append(t, 48, **fields)
            total += fields["author"].size
    ids = campaign(bots, params, posts, 1.0, 4)
    assert ids.size > 0 and (posts.leaning[posts.slots_of(ids)] > 0).all()
    reshares = bot_reshares(bots, active, params, posts, 4, streams)
    assert bots.is_bot[reshares["author"]].all()
    assert (reshares["depth"] == 1).all()
    assert (reshares["root_author"] != reshares["author"]).all()
    none = bot_reshares(bots, np.zeros(bots.n_bots, bool), params, posts, 4, streams)
    assert none["author"].size == 0
