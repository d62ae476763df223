"""The exceptions feedlab raises; every message names the field and what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SimError(Exception):
    """Root of every error feedlab raises on purpose."""


class ConfigError(SimError, ValueError):
    """A configuration value, CLI flag or parameter is not allowed."""


class UnknownComponentError(SimError, LookupError):
    """A name was looked up in a registry (or scenario list) that does not hold it."""


class ShapeError(SimError, ValueError):
    """An array does not have the shape or dtype its owner requires."""


class CapacityError(SimError, RuntimeError):
    """A fixed-capacity buffer would overflow; nothing is dropped silently."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest known name, or an empty string."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


class ExternalRankerError(SimError, RuntimeError):
    """An external recommender timed out, failed or answered something the protocol refuses."""
