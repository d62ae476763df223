"""Platform-side interventions: labels, demotions, a virality circuit breaker, bot removal.

Everything here reads only what the platform can see: the observable post columns
(:class:`PostView`), its own logs and model, fact-checkers' verdicts handed over by
``platform.observe.observe_verdicts``, and the behaviour of accounts. It never reads a post's
truth nor whether an account is a bot.

* Misinformation labels: cascades that fact-checkers rated false carry a label and are demoted
  (Facebook's third-party fact-checking demotes rated posts; Clayton et al. 2020 on labels).
* Virality circuit breaker (Simpson & Conner 2020, Center for American Progress: hold
  fast-spreading content for review before it spreads further): a cascade that reaches ``cap``
  reshares within a sliding window is held - not shown and not reshareable - until reviewed
  after a delay; reshares past the cap within the window are refused at the share button, so no
  cascade ever exceeds its cap before review.
* Out-party hostility demotion (Piccardi et al. 2024): posts the platform's classifier reads as
  outraged (punctuation) and slanted against the viewer's inferred side are demoted.
* Bot detection (Varol et al. 2017, Botometer; Pacheco et al. 2021, coordination networks):
  accounts posting faster than a human could, or mostly co-resharing what many others reshare
  in the same tick, are flagged and removed after a delay.

Demotions compose with any ranker: the arm's ranker orders all candidates, each candidate's
reciprocal rank ``1 / (1 + position)`` is multiplied by its demotion factor, and the feed is the
top ``k`` of that product (a factor of 0.3 moves a first-placed post to third place).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from feedlab.core.arrays import BoolArray, FloatArray, I32Array, IntArray, U32Array
from feedlab.platform.observe import PostView, Verdicts
from feedlab.platform.rankers.base import RankContext, Ranker, top_k


def matches_root(table: U32Array, view: PostView, slots: IntArray) -> BoolArray:
    """Whether the cascade of each post slot is recorded in ``table`` (root id by root slot)."""
    safe = np.maximum(slots, 0)
    roots = view.root[safe]
    return (slots >= 0) & (roots != 0) & (table[view.slots_of(roots)] == roots)


@dataclass(slots=True)
class InterventionState:
    """What the platform keeps for its interventions (ring-indexed by root slot, per account).

    Updated in place by the functions of this module, like the platform's other rings.
    """

    label_root: U32Array  # (capacity,) root id labelled false at that root slot, 0 = none
    labelled_today: int  # cascades labelled since midnight
    breaker_count: I32Array  # (capacity,) reshares admitted within the window
    breaker_log: list[tuple[int, IntArray]]  # (tick, root slots of admitted reshares)
    held_root: U32Array  # (capacity,) root id held pending review
    review_at: I32Array  # (capacity,) tick the held cascade is reviewed
    cleared_root: U32Array  # (capacity,) root id reviewed and released (exempt from the cap)
    blocked_root: U32Array  # (capacity,) root id reviewed, rated false and removed
    held_today: int  # cascades held since midnight
    refused_today: int  # reshares refused by the breaker since midnight
    posts_today: FloatArray  # (n_people,) posts and reshares by each account since midnight
    coordinated_today: FloatArray  # (n_people,) reshares of a root co-reshared in the same tick
    flagged_at: I32Array  # (n_people,) tick the detector flagged the account, -1 = never
    removed: BoolArray  # (n_people,) accounts removed
    pending_ids: list[U32Array] = field(default_factory=list)  # posts observed this tick


def init_intervention_state(n_people: int, capacity: int) -> InterventionState:
    """Nothing labelled, held, flagged or removed."""
    zeros_u = np.zeros(capacity, np.uint32)
    return InterventionState(
        label_root=zeros_u.copy(),
        labelled_today=0,
        breaker_count=np.zeros(capacity, np.int32),
        breaker_log=[],
        held_root=zeros_u.copy(),
        review_at=np.zeros(capacity, np.int32),
        cleared_root=zeros_u.copy(),
        blocked_root=zeros_u.copy(),
        held_today=0,
        refused_today=0,
        posts_today=np.zeros(n_people, np.float32),
        coordinated_today=np.zeros(n_people, np.float32),
        flagged_at=np.full(n_people, -1, np.int32),
        removed=np.zeros(n_people, bool),
    )


# --- misinformation labels ----------------------------------------------------------------


def record_verdicts(state: InterventionState, view: PostView, verdicts: Verdicts) -> None:
    """Label the cascades the fact-checkers rated false."""
    ids = verdicts.root_ids[verdicts.rated_false]
    if ids.size:
        state.label_root[view.slots_of(ids)] = ids
        state.labelled_today += int(ids.size)


def labelled(state: InterventionState, view: PostView, slots: IntArray) -> BoolArray:
    """Which post slots belong to a labelled cascade (``-1`` slots are not)."""
    return matches_root(state.label_root, view, slots)


# --- virality circuit breaker -----------------------------------------------------------


def expire_window(state: InterventionState, tick: int, window_ticks: int) -> None:
    """Forget admitted reshares older than the window (sliding window of ``window_ticks``)."""
    while state.breaker_log and state.breaker_log[0][0] <= tick - window_ticks:
        _, slots = state.breaker_log.pop(0)
        np.subtract.at(state.breaker_count, slots, 1)


def admit_reshares(
    state: InterventionState,
    view: PostView,
    root_ids: U32Array,
    cap: int,
    review_ticks: int,
    tick: int,
) -> BoolArray:
    """Decide which attempted reshares go through; hold cascades that reach ``cap``.

    Attempts are processed in the order given (sessions in row order, slots top-down), so the
    same attempts are refused under every run. Reshares of a held or blocked cascade are
    refused; a cascade released after review is exempt from the cap.

    Args:
        state: the platform's intervention state (updated in place).
        view: observable post columns.
        root_ids: cascade root of each attempted reshare, ``(n,)``.
        cap: reshares a cascade may gather within the window before it is held.
        review_ticks: ticks from holding to review.
        tick: current tick.

    Returns:
        ``(n,)`` bool, True for reshares admitted.
    """
    n = root_ids.size
    if n == 0:
        return np.zeros(0, bool)
    slots = view.slots_of(root_ids)
    stopped = (state.held_root[slots] == root_ids) | (state.blocked_root[slots] == root_ids)
    exempt = state.cleared_root[slots] == root_ids
    metered = ~stopped & ~exempt
    # Rank of each metered attempt among the attempts on the same cascade, in the given order.
    order = np.lexsort((np.arange(n), slots, ~metered))
    s = slots[order]
    group_start = np.r_[True, s[1:] != s[:-1]]
    start_index = np.maximum.accumulate(np.where(group_start, np.arange(n), 0))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - start_index
    admitted = exempt | (metered & (rank < cap - state.breaker_count[slots]))
    state.refused_today += int(n - admitted.sum())
    counted = slots[admitted & metered]
    np.add.at(state.breaker_count, counted, 1)
    state.breaker_log.append((tick, counted))
    full = np.unique(counted[state.breaker_count[counted] >= cap])
    if full.size:
        state.held_root[full] = view.root[full]
        state.review_at[full] = tick + review_ticks
        state.held_today += int(full.size)
    return admitted


def due_reviews(state: InterventionState, tick: int) -> U32Array:
    """Root ids of held cascades whose review is due."""
    due = np.flatnonzero((state.held_root != 0) & (state.review_at <= tick))
    return state.held_root[due]


def record_reviews(state: InterventionState, view: PostView, verdicts: Verdicts) -> None:
    """Release reviewed cascades, except those rated false, which stay removed."""
    slots = view.slots_of(verdicts.root_ids)
    state.held_root[slots] = 0
    false = verdicts.rated_false
    state.blocked_root[slots[false]] = verdicts.root_ids[false]
    state.cleared_root[slots[~false]] = verdicts.root_ids[~false]


# --- bot detection ---------------------------------------------------------------------


def observe_account_activity(
    state: InterventionState, view: PostView, ids: U32Array, coordination_min: int
) -> None:
    """Count each account's posts and coordinated reshares of one tick.

    A reshare is coordinated when at least ``coordination_min`` accounts reshared the same
    cascade in the same tick (Pacheco et al. 2021: co-sharing within a short window).
    """
    if ids.size == 0:
        return
    slots = view.slots_of(ids)
    author = view.author[slots].astype(np.int64)
    n_people = state.posts_today.size
    state.posts_today += np.bincount(author, minlength=n_people).astype(np.float32)
    reshare = view.depth[slots] > 0
    roots = view.root[slots[reshare]]
    _, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    together = counts[inverse] >= coordination_min
    state.coordinated_today += np.bincount(author[reshare][together], minlength=n_people).astype(
        np.float32
    )


def flag_accounts(
    state: InterventionState,
    tick: int,
    posts_per_day: float,
    coordinated_per_day: float,
    coordinated_share: float,
) -> None:
    """Midnight: flag accounts whose day looked automated, then reset the day's counters.

    An account is flagged if it posted at least ``posts_per_day`` times, or if at least
    ``coordinated_per_day`` of its reshares, and at least ``coordinated_share`` of everything it
    posted, were coordinated.
    """
    posts = state.posts_today
    coordinated = state.coordinated_today
    suspicious = (posts >= posts_per_day) | (
        (coordinated >= coordinated_per_day)
        & (coordinated >= coordinated_share * np.maximum(posts, 1.0))
    )
    state.flagged_at[suspicious & (state.flagged_at < 0)] = tick
    state.posts_today = np.zeros_like(posts)
    state.coordinated_today = np.zeros_like(coordinated)


def remove_flagged(state: InterventionState, tick: int, delay_ticks: int) -> None:
    """Remove the accounts flagged at least ``delay_ticks`` ago (review before enforcement)."""
    state.removed |= (state.flagged_at >= 0) & (tick >= state.flagged_at + delay_ticks)


# --- feeds ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostilityRule:
    """Which candidates the platform reads as hostile to the viewer's side, and their factor.

    Attributes:
        viewer_leaning: the platform's inferred leaning of everyone, ``(n_people,)``.
        min_exclamations: exclamation marks from which a post reads as outraged.
        min_slant: classifier slant magnitude from which a post reads as partisan.
        factor: demotion factor of a hostile post.
    """

    viewer_leaning: FloatArray
    min_exclamations: int
    min_slant: float
    factor: float


def hostile(rule: HostilityRule, context: RankContext) -> BoolArray:
    """Candidates read as out-party hostility: outraged, partisan, slanted against the viewer."""
    slots = np.maximum(context.candidates.slots, 0)
    view = context.view
    viewer = rule.viewer_leaning[context.candidates.persons][:, None]
    slant = view.slant[slots]
    return (
        context.candidates.valid
        & (view.exclamations[slots] >= rule.min_exclamations)
        & (np.abs(slant) >= rule.min_slant)
        & (slant * viewer < 0)
    )


@dataclass(frozen=True, slots=True)
class InterventionRanker:
    """The arm's ranker under the platform's interventions (built afresh each tick).

    Attributes:
        inner: the arm's ranker.
        in_network_only: drop out-of-network candidates.
        stopped_roots: tables (root id by root slot) of cascades not to show: held, removed.
        removed_accounts: accounts whose posts and reshares are never shown, or None.
        label_root: labelled cascades (root id by root slot), or None.
        label_factor: demotion factor of a labelled cascade.
        hostility: the out-party hostility rule, or None.
    """

    inner: Ranker
    in_network_only: bool = False
    stopped_roots: tuple[U32Array, ...] = ()
    removed_accounts: BoolArray | None = None
    label_root: U32Array | None = None
    label_factor: float = 1.0
    hostility: HostilityRule | None = None

    def eligible(self, context: RankContext) -> BoolArray:
        """Candidates the interventions allow, ``(n_sessions, n_candidates)``."""
        cands = context.candidates
        ok = cands.valid.copy()
        if self.in_network_only:
            ok &= cands.in_network
        for table in self.stopped_roots:
            ok &= ~matches_root(table, context.view, cands.slots)
        if self.removed_accounts is not None:
            slots = np.maximum(cands.slots, 0)
            ok &= ~self.removed_accounts[context.view.author[slots]]
            ok &= ~self.removed_accounts[context.view.root_author[slots]]
        return ok

    def factors(self, context: RankContext) -> FloatArray | None:
        """Demotion factor of every candidate, or None when nothing is demoted."""
        factor = None
        if self.label_root is not None and self.label_factor != 1.0:
            hit = matches_root(self.label_root, context.view, context.candidates.slots)
            factor = np.where(hit, self.label_factor, 1.0)
        if self.hostility is not None and self.hostility.factor != 1.0:
            hit = hostile(self.hostility, context)
            more = np.where(hit, self.hostility.factor, 1.0)
            factor = more if factor is None else factor * more
        return factor

    def rank(self, context: RankContext, k: int, rng: np.random.Generator) -> IntArray:
        """Filter the candidates, rank with the arm's ranker, then apply the demotions."""
        ok = self.eligible(context)
        cands = context.candidates
        if not np.array_equal(ok, cands.valid):
            cands = replace(
                cands,
                ids=np.where(ok, cands.ids, 0).astype(np.uint32),
                slots=np.where(ok, cands.slots, -1),
                in_network=cands.in_network & ok,
            )
            context = replace(context, candidates=cands)
        factor = self.factors(context)
        if factor is None:
            return self.inner.rank(context, k, rng)
        c = cands.slots.shape[1]
        order = self.inner.rank(context, c, rng)  # the full order, best first
        placed = order >= 0
        column = np.maximum(order, 0)
        reciprocal = 1.0 / (1.0 + np.arange(c, dtype=np.float64))
        score = np.where(
            placed, reciprocal[None, :] * np.take_along_axis(factor, column, axis=1), -np.inf
        )
        best = top_k(score, k)
        return np.where(best >= 0, np.take_along_axis(order, np.maximum(best, 0), axis=1), -1)
