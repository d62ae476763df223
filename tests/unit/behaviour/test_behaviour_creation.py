"""Posting counts and exclamation marks: the compiled Poisson inversion equals its reference."""

import numpy as np
import pytest
from scipy.stats import poisson

from feedlab.behaviour.creation import poisson_quantile, poisson_quantile_reference


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_poisson_quantile_equals_the_reference(dtype: type) -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    mean = np.concatenate([np.zeros(100), rng.gamma(0.3, 2.0, n - 200), rng.uniform(20, 60, 100)])
    mean = mean.astype(dtype)
    u = rng.random(n)
    u[:50] = 0.0
    u[50:100] = np.nextafter(1.0, 0.0)
    got = poisson_quantile(u, mean)
    np.testing.assert_array_equal(got, poisson_quantile_reference(u, mean))
    assert got.dtype == np.int64 and got.max() == 40  # the cap binds for the largest means


def test_poisson_quantile_follows_the_poisson_distribution() -> None:
    rng = np.random.default_rng(6)
    counts = poisson_quantile(rng.random(200_000), np.full(200_000, 2.5))
    observed = np.bincount(counts, minlength=12)[:12] / counts.size
    np.testing.assert_allclose(observed, poisson.pmf(np.arange(12), 2.5), atol=0.004)


def test_poisson_quantile_of_other_shapes_takes_the_reference_path() -> None:
    rng = np.random.default_rng(7)
    u, mean = rng.random((30, 4)), rng.gamma(1.0, 2.0, (30, 4))
    np.testing.assert_array_equal(poisson_quantile(u, mean), poisson_quantile_reference(u, mean))
