"""What validation measures in one simulated society, beyond the daily metrics.

One probe, :class:`SocietyProbe`, serves every finding: it harvests every cascade as it closes
(size, depth, veracity, views, time to reach a number of people), watches the top of every feed
served, and at the end reads the tails of activity and follower counts, the opinion landscape
and how well the platform's model knows each person against how much it has logged about them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import signal, stats

from feedlab.core.arrays import F64Array, IntArray
from feedlab.engine.run import Cell
from feedlab.engine.step import SimState
from feedlab.validation.devices import TruthRanker, Watched, WorldView

REACH_SIZES = (3, 5, 10)
"""Cascade sizes whose time to reach is measured (Vosoughi et al. measured 1,500 on Twitter)."""


@dataclass
class CascadeLog:
    """Closed cascades, one entry per cascade."""

    size: list[IntArray] = field(default_factory=list)
    depth: list[IntArray] = field(default_factory=list)
    false: list[np.ndarray] = field(default_factory=list)
    views: list[IntArray] = field(default_factory=list)
    reach_ticks: list[F64Array] = field(default_factory=list)  # (n, len(REACH_SIZES)), NaN = never

    def arrays(self) -> tuple[IntArray, IntArray, np.ndarray, IntArray, F64Array]:
        """Everything harvested, concatenated."""
        if not self.size:
            e = np.zeros(0, np.int64)
            return e, e, e.astype(bool), e, np.zeros((0, len(REACH_SIZES)))
        return (
            np.concatenate(self.size),
            np.concatenate(self.depth),
            np.concatenate(self.false),
            np.concatenate(self.views),
            np.concatenate(self.reach_ticks),
        )


def reach_ticks(
    roots: np.ndarray, root_created: IntArray, reshare_root: np.ndarray, reshare_created: IntArray
) -> F64Array:
    """Ticks from each root's creation until its cascade counted each of :data:`REACH_SIZES`.

    The cascade counts ``n`` people when its ``(n - 1)``-th reshare is made. NaN where it never did.
    """
    out = np.full((roots.size, len(REACH_SIZES)), np.nan)
    if roots.size == 0 or reshare_root.size == 0:
        return out
    order = np.argsort(roots, kind="stable")
    sorted_roots = roots[order]
    where = np.searchsorted(sorted_roots, reshare_root)
    where = np.minimum(where, sorted_roots.size - 1)
    member = sorted_roots[where] == reshare_root
    group = order[where[member]]  # index into roots of each reshare's cascade
    created = reshare_created[member]
    by = np.lexsort((created, group))
    group, created = group[by], created[by]
    start = np.searchsorted(group, np.arange(roots.size))
    counts = np.bincount(group, minlength=roots.size)
    for j, n in enumerate(REACH_SIZES):
        has = counts >= n - 1
        out[has, j] = created[start[has] + n - 2] - root_created[has]
    return out


def harvest(state: SimState, cell: Cell, since: int, log: CascadeLog, authors: F64Array) -> int:
    """File every cascade that closed after tick ``since``; return the tick harvested up to.

    Reshares outlive their root in the ring (a slot is reused only after its own post's
    lifetime), so all of a closing cascade's reshares are still there to be read.
    """
    posts = state.world.posts
    lifetime = state.world.clock.ticks(cell.world.posts.lifetime_hours)
    now = state.tick
    alive = posts.id != 0
    close = posts.created.astype(np.int64) + lifetime
    original = alive & (posts.depth == 0) & (close <= now) & (close > since)
    idx = np.flatnonzero(original)
    roots = posts.id[idx]
    reshare = alive & (posts.depth > 0)
    log.size.append(posts.cascade_size[idx].astype(np.int64))
    log.depth.append(posts.cascade_depth[idx].astype(np.int64))
    log.false.append(posts.is_false[idx].copy())
    log.views.append(posts.cascade_views[idx].astype(np.int64))
    log.reach_ticks.append(
        reach_ticks(
            roots,
            posts.created[idx].astype(np.int64),
            posts.root[reshare],
            posts.created[reshare].astype(np.int64),
        )
    )
    np.add.at(authors, posts.author[idx], 1.0)
    return now


def opinion_clusters(leaning: np.ndarray, bandwidth: float = 0.05, prominence: float = 0.05) -> int:
    """Number of modes of the leaning density (Gaussian KDE, peaks above 5% of the highest)."""
    grid = np.linspace(-1.0, 1.0, 401)
    x = leaning.astype(np.float64)
    if x.std() < 1e-9:
        return 1
    density = stats.gaussian_kde(x, bw_method=bandwidth / x.std(ddof=1))(grid)
    peaks, _ = signal.find_peaks(density, prominence=prominence * density.max())
    return max(int(peaks.size), 1)


def tail_test(values: np.ndarray) -> tuple[float, float, float]:
    """Clauset, Shalizi & Newman (2009): (log-likelihood ratio, p, alpha) of lognormal vs exponential.

    A positive ratio with small p means the tail is heavier than exponential.
    """
    import powerlaw

    data = values[values > 0]
    if data.size < 50 or np.unique(data).size < 5:
        return math.nan, math.nan, math.nan
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(data, discrete=True, verbose=False)
        ratio, p = fit.distribution_compare("lognormal", "exponential", normalized_ratio=True)
        alpha = float(fit.power_law.alpha)
    return float(ratio), float(p), alpha


def top_share(values: np.ndarray, fraction: float = 0.1) -> float:
    """Share of the total held by the top ``fraction`` of people."""
    total = float(values.sum())
    if total <= 0:
        return math.nan
    n = max(round(fraction * values.size), 1)
    return float(np.sort(values)[-n:].sum() / total)


@dataclass
class SocietyProbe:
    """Everything validation measures in one cell (see the module docstring)."""

    tails: bool = True  # the heavy-tail fits (a few seconds per cell; finding 7 reads engagement's)
    view: WorldView = field(default_factory=WorldView)
    watched: Watched | None = None
    cascades: CascadeLog = field(default_factory=CascadeLog)
    harvested: int = -1
    authors: F64Array | None = None
    daily: dict[str, list[float]] = field(default_factory=dict)

    def attach(self, cell: Cell) -> Cell:
        """Share the world with a truth ranker, and watch the feeds."""
        inner = cell.ranker
        if isinstance(inner, TruthRanker):
            inner.view = self.view
        self.watched = Watched(
            inner, self.view, cell.world.posts.outrage_threshold, cell.behaviour.survey
        )
        self.authors = np.zeros(cell.world.n_people)
        return replace(cell, ranker=self.watched)

    def before_tick(self, state: SimState) -> None:
        """Give the devices the world of this tick."""
        self.view.world = state.world

    def on_day(self, state: SimState, cell: Cell, day: int, row: dict[str, float]) -> None:
        """Start recording after warm-up; harvest the day's closed cascades; keep the metrics."""
        assert self.watched is not None and self.authors is not None
        if day < 0:
            return
        if day == 0:  # the last warm-up day: measure from here on
            self.watched.record = True
            self.harvested = state.tick
            return
        self.harvested = harvest(state, cell, self.harvested, self.cascades, self.authors)
        for name, value in row.items():
            self.daily.setdefault(name, []).append(value)

    def finish(self, state: SimState, cell: Cell) -> dict[str, float]:
        """Reduce the cell to named numbers."""
        out: dict[str, float] = {}
        out.update(self._cascade_measures(state))
        out.update(self._feed_measures())
        if self.tails:
            out.update(self._tail_measures(state))
        out.update(self._learning_measures(state))
        world = state.world
        out["opinion_clusters"] = float(opinion_clusters(world.people.leaning))
        with warnings.catch_warnings():  # a metric undefined on early days is NaN, not a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            out.update(self._daily_measures())
        return out

    def _daily_measures(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, values in self.daily.items():
            out[f"mean:{name}"] = float(np.nanmean(values)) if values else math.nan
            out[f"first:{name}"] = values[0] if values else math.nan
            out[f"early:{name}"] = float(np.nanmean(values[:3])) if values else math.nan
            out[f"final:{name}"] = values[-1] if values else math.nan
        return out

    def _cascade_measures(self, state: SimState) -> dict[str, float]:
        size, depth, false, views, reach = self.cascades.arrays()
        tick_hours = state.world.clock.tick_hours
        out: dict[str, float] = {}
        for label, group in (("false", false), ("true", ~false)):
            n = int(group.sum())
            out[f"{label}_cascades"] = float(n)
            s = size[group]
            out[f"{label}_mean_size"] = float(s.mean()) if n else math.nan
            out[f"{label}_p99_size"] = float(np.percentile(s, 99)) if n else math.nan
            out[f"{label}_mean_depth"] = float(depth[group].mean()) if n else math.nan
            shares = float((s - 1).sum())
            seen = float(views[group].sum())
            out[f"{label}_shares_per_view"] = shares / seen if seen > 0 else math.nan
            for j, reach_n in enumerate(REACH_SIZES):
                r = reach[group, j]
                r = r[np.isfinite(r)]
                out[f"{label}_reached_{reach_n}"] = float(r.size)
                out[f"{label}_hours_to_{reach_n}"] = (
                    float(np.median(r)) * tick_hours if r.size >= 3 else math.nan
                )
        # Juul & Ugander (2021): compare depth raw, then within strata of equal size.
        out["depth_gap_raw"] = out["false_mean_depth"] - out["true_mean_depth"]
        gaps, weights = [], []
        for s in np.unique(size):
            f = false & (size == s)
            t = ~false & (size == s)
            if f.sum() >= 2 and t.sum() >= 2:
                gaps.append(depth[f].mean() - depth[t].mean())
                weights.append(f.sum())
        out["depth_gap_matched"] = float(np.average(gaps, weights=weights)) if gaps else math.nan
        if self.tails:
            ratio, p, alpha = tail_test(size)
            out.update(cascade_tail_ratio=ratio, cascade_tail_p=p, cascade_alpha=alpha)
        return out

    def _feed_measures(self) -> dict[str, float]:
        assert self.watched is not None
        t = self.watched.tally
        outrage_mean, outrage_var = t.moments(t.outrage, t.outrage_sq)
        partisan_mean, partisan_var = t.moments(t.partisan, t.partisan_sq)
        items = max(t.items, 1)
        return {
            "feed_items": float(t.items),
            "feed_outrage_mean": outrage_mean,
            "feed_outrage_var": outrage_var,
            "feed_hostile_share": t.hostile / items,
            "feed_partisan_mean": partisan_mean,
            "feed_partisan_var": partisan_var,
            "feed_utility": t.utility / t.attention if t.attention > 0 else math.nan,
            "feed_stated_worth": t.worth / items,
            "feed_political_worth": (
                t.political_worth / t.political if t.political > 0 else math.nan
            ),
        }

    def _tail_measures(self, state: SimState) -> dict[str, float]:
        assert self.authors is not None
        followers = state.world.graph.follower_counts().astype(np.float64)
        out: dict[str, float] = {}
        for name, values in (("posts", self.authors), ("followers", followers)):
            ratio, p, alpha = tail_test(np.round(values).astype(np.int64))
            out[f"{name}_tail_ratio"] = ratio
            out[f"{name}_tail_p"] = p
            out[f"{name}_alpha"] = alpha
            out[f"{name}_top10_share"] = top_share(values)
        return out

    def _learning_measures(self, state: SimState) -> dict[str, float]:
        model = state.platform.model
        data = model.impressions.astype(np.float64)
        logged = data > 0
        estimated = model.estimated_leaning().astype(np.float64)
        truth = state.world.people.leaning.astype(np.float64)
        error = np.abs(estimated - truth)
        out: dict[str, float] = {}
        if logged.sum() >= 40:
            out["leaning_error_data_rho"] = float(
                stats.spearmanr(data[logged], error[logged]).statistic
            )
            # Kosinski et al. (2013) score trait inference by the correlation between predicted
            # and true values across people, by how much data each person left.
            q = np.quantile(data[logged], [0.25, 0.75])
            for label, group in (
                ("least", logged & (data <= q[0])),
                ("most", logged & (data >= q[1])),
            ):
                out[f"leaning_mae_{label}_data"] = float(error[group].mean())
                out[f"leaning_r_{label}_data"] = float(
                    np.corrcoef(estimated[group], truth[group])[0, 1]
                )
        else:
            for key in (
                "leaning_error_data_rho",
                "leaning_mae_least_data",
                "leaning_mae_most_data",
                "leaning_r_least_data",
                "leaning_r_most_data",
            ):
                out[key] = math.nan
        return out


def society_probe() -> SocietyProbe:
    """A fresh :class:`SocietyProbe` (the picklable factory tasks carry)."""
    return SocietyProbe()


def tailless_probe() -> SocietyProbe:
    """A fresh :class:`SocietyProbe` that skips the heavy-tail fits."""
    return SocietyProbe(tails=False)
