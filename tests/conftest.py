"""Shared fixtures: the test seed and a tiny experiment built through the public API."""

from __future__ import annotations

import os

import pytest

from feedlab.experiments.config import ExperimentConfig, load_config

SEED_ENV = "FEEDLAB_TEST_SEED"
DEFAULT_SEED = 42


def _seed_from_env() -> int:
    text = os.environ.get(SEED_ENV, "").strip()
    if not text:
        return DEFAULT_SEED
    try:
        return int(text)
    except ValueError:
        raise pytest.UsageError(f"{SEED_ENV} must be an integer, got {text!r}.") from None


@pytest.fixture
def seed() -> int:
    """The root seed of randomized tests: ``FEEDLAB_TEST_SEED`` or 42."""
    return _seed_from_env()


@pytest.fixture
def tiny_config() -> ExperimentConfig:
    """The social-dilemma scenario shrunk to 500 people, 2 days and 2 seeds."""
    return load_config("social-dilemma", ["world.n_people=500", "days=2", "seeds=2"])
