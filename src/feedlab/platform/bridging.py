"""A Community-Notes-style bridging scorer: matrix factorization with costly intercepts.

Each rating of post ``j`` by person ``i`` is modelled as

    r_ij ≈ mu + b_i + c_j + f_i * g_j

with one-dimensional factors, fitted by regularized least squares. As in Community Notes'
``matrix_factorization.py`` (Wojcik et al. 2022; ``twitter/communitynotes``, FINDINGS §9), the
loss is the *mean* squared error plus, for every parameter array, lambda times the *mean* of its
squares; intercepts (``b``, ``c``, ``mu``) get ``lambda_f * intercept_multiplier`` (0.03 x 5 =
0.15 there), factors get ``lambda_f`` (0.03). Because an intercept costs more than a factor, the
fit explains as much as it can by viewpoint alignment ``f_i * g_j`` first, and a post earns a
high intercept ``c_j`` only when people on both sides of the factor axis rate it well: ``c_j``
is the post's *bridging* score. With ``intercept_multiplier = 1`` the extra intercept
regularization is off, and a post loved by one side gains intercept as readily as factor.

The fit is alternating least squares: with the people's parameters fixed, each post's
``(c_j, g_j)`` is an exact 2x2 ridge regression, all posts at once from ``np.bincount`` sums;
then the same for people, then ``mu``. Every step lowers the loss, so it converges to a
stationary point (Community Notes uses Adam on the same loss). Factors start from a fixed
low-discrepancy sequence, so the fit uses no random numbers and the same ratings always give the
same scores. As in Community Notes, the sign of the factor axis is then fixed so that most
people have a negative factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feedlab.core.arrays import F64Array, IntArray
from feedlab.core.errors import ConfigError, ShapeError

COMMUNITY_NOTES_FACTOR_LAMBDA = 0.03
"""``userFactorLambda = noteFactorLambda`` in Community Notes' matrix factorization."""
COMMUNITY_NOTES_INTERCEPT_MULTIPLIER = 5.0
"""Intercept lambdas are ``0.03 * 5`` there: intercepts cost five times what factors cost."""
_GOLDEN = 0.6180339887498949


@dataclass(frozen=True, slots=True)
class BridgingFit:
    """A fitted bridging model.

    Attributes:
        mu: the global intercept.
        person_ids: the distinct person ids rated from, ascending, ``(n_persons,)``.
        person_intercept: each person's intercept ``b_i`` (how generous their ratings are).
        person_factor: each person's position ``f_i`` on the factor axis.
        post_ids: the distinct post ids rated, ascending, ``(n_posts,)``.
        post_intercept: each post's intercept ``c_j``: its bridging score.
        post_factor: each post's position ``g_j`` on the factor axis.
        post_ratings: number of ratings of each post.
        loss: the final value of the regularized loss.
        iterations: alternating sweeps run.
    """

    mu: float
    person_ids: IntArray
    person_intercept: F64Array
    person_factor: F64Array
    post_ids: IntArray
    post_intercept: F64Array
    post_factor: F64Array
    post_ratings: IntArray
    loss: float
    iterations: int

    def predict(self, persons: IntArray, posts: IntArray) -> F64Array:
        """Fitted rating of each (person, post) pair; both ids must have been rated."""
        i = np.searchsorted(self.person_ids, persons)
        j = np.searchsorted(self.post_ids, posts)
        return (
            self.mu
            + self.person_intercept[i]
            + self.post_intercept[j]
            + self.person_factor[i] * self.post_factor[j]
        )


def fit_bridging(
    persons: IntArray,
    posts: IntArray,
    ratings: np.ndarray,
    *,
    factor_lambda: float = COMMUNITY_NOTES_FACTOR_LAMBDA,
    intercept_multiplier: float = COMMUNITY_NOTES_INTERCEPT_MULTIPLIER,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
    warm_start: BridgingFit | None = None,
) -> BridgingFit:
    """Fit ``rating ≈ mu + b_person + c_post + f_person * g_post`` (see the module docstring).

    Args:
        persons: who rated, ``(m,)`` non-negative integer ids.
        posts: what was rated, ``(m,)`` non-negative integer ids.
        ratings: the ratings, ``(m,)`` finite numbers (any scale; Community Notes uses 0, 0.5, 1).
        factor_lambda: L2 weight of the factors (on the mean of their squares).
        intercept_multiplier: intercepts' L2 weight is ``factor_lambda`` times this; 1 turns the
            extra intercept regularization off.
        max_iterations: most alternating sweeps.
        tolerance: stop when the loss falls by less than this between sweeps.
        warm_start: a previous fit; people it knows start from their fitted factor (as
            Community Notes warm-starts its refits), and so do their intercepts and ``mu``.

    Raises:
        ConfigError: a parameter is out of range.
        ShapeError: the three arrays are not one-dimensional of one length, or a rating is not
            finite.
    """
    if not (math.isfinite(factor_lambda) and factor_lambda > 0):
        raise ConfigError(f"factor_lambda must be a number > 0, got {factor_lambda!r}.")
    if not (math.isfinite(intercept_multiplier) and intercept_multiplier > 0):
        raise ConfigError(
            f"intercept_multiplier must be a number > 0, got {intercept_multiplier!r}."
        )
    if max_iterations < 1:
        raise ConfigError(f"max_iterations must be an integer >= 1, got {max_iterations!r}.")
    if not tolerance >= 0:
        raise ConfigError(f"tolerance must be a number >= 0, got {tolerance!r}.")
    persons, posts = np.asarray(persons), np.asarray(posts)
    r = np.asarray(ratings, dtype=np.float64)
    if not (persons.ndim == posts.ndim == r.ndim == 1 and persons.size == posts.size == r.size):
        shapes = (persons.shape, posts.shape, r.shape)
        raise ShapeError(f"persons, posts and ratings must be 1-D of one length, got {shapes}.")
    if not np.isfinite(r).all():
        raise ShapeError("ratings must all be finite, got NaN or infinity.")
    if r.size == 0:
        empty = np.zeros(0)
        none = np.zeros(0, np.int64)
        return BridgingFit(0.0, none, empty, empty, none, empty, empty, none, 0.0, 0)

    person_ids, p = np.unique(persons, return_inverse=True)
    post_ids, q = np.unique(posts, return_inverse=True)
    m, n_p, n_q = r.size, person_ids.size, post_ids.size
    lam_f = factor_lambda
    lam_i = factor_lambda * intercept_multiplier
    # Mean-of-squares penalties, expressed per rating: multiply the loss by m.
    person_pen = (lam_i * m / n_p, lam_f * m / n_p)
    post_pen = (lam_i * m / n_q, lam_f * m / n_q)

    mu = 0.0
    b: F64Array = np.zeros(n_p)
    f: F64Array = (np.arange(1, n_p + 1) * _GOLDEN) % 1.0 - 0.5
    if warm_start is not None and warm_start.person_ids.size:
        at = np.searchsorted(warm_start.person_ids, person_ids)
        at = np.minimum(at, warm_start.person_ids.size - 1)
        known = warm_start.person_ids[at] == person_ids
        f[known] = warm_start.person_factor[at[known]]
        b[known] = warm_start.person_intercept[at[known]]
        mu = warm_start.mu
    c: F64Array = np.zeros(n_q)
    g: F64Array = np.zeros(n_q)
    prev = math.inf
    loss = math.inf
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - the count is reported
        c, g = _ridge2(q, r - mu - b[p], f[p], n_q, post_pen)
        b, f = _ridge2(p, r - mu - c[q], g[q], n_p, person_pen)
        residual = r - b[p] - c[q] - f[p] * g[q]
        mu = float(residual.sum() / (m + lam_i * m))
        error = residual - mu
        loss = float(
            (error**2).mean()
            + lam_i * ((b**2).mean() + (c**2).mean() + mu**2)
            + lam_f * ((f**2).mean() + (g**2).mean())
        )
        if prev - loss < tolerance:
            break
        prev = loss
    if (f < 0).sum() < (f != 0).sum() / 2:  # identification: most people on the negative side
        f, g = -f, -g
    return BridgingFit(
        mu=mu,
        person_ids=person_ids.astype(np.int64),
        person_intercept=b,
        person_factor=f,
        post_ids=post_ids.astype(np.int64),
        post_intercept=c,
        post_factor=g,
        post_ratings=np.bincount(q, minlength=n_q).astype(np.int64),
        loss=loss,
        iterations=iterations,
    )


def _ridge2(
    index: IntArray, target: F64Array, x: F64Array, n: int, penalty: tuple[float, float]
) -> tuple[F64Array, F64Array]:
    """For every group ``k``, minimize ``sum (target - a_k - s_k x)^2 + pa a_k^2 + ps s_k^2``.

    The 2x2 normal equations of all groups are built with ``np.bincount`` and solved in closed
    form; the determinant is positive because both penalties are.
    """
    count = np.bincount(index, minlength=n).astype(np.float64)
    sx = np.bincount(index, x, n)
    sxx = np.bincount(index, x * x, n)
    st = np.bincount(index, target, n)
    stx = np.bincount(index, target * x, n)
    a11 = count + penalty[0]
    a22 = sxx + penalty[1]
    det = a11 * a22 - sx * sx
    intercept = (a22 * st - sx * stx) / det
    slope = (a11 * stx - sx * st) / det
    return intercept, slope
