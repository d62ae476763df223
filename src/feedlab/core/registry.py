"""Name -> factory registries for the extension points (rankers, metrics, ...)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

from feedlab.core.errors import ConfigError, UnknownComponentError, did_you_mean

T = TypeVar("T")
_VERSIONED = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*-v(\d+)$")


class Registry(Generic[T]):
    """Map versioned kebab-case names (``engagement-v1``) to factories.

    A bare name (``engagement``) resolves to its highest registered version, so configs may pin
    a version for reproducibility or follow the latest one.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers a factory under ``name`` (must end in ``-vN``)."""
        if not _VERSIONED.match(name):
            raise ConfigError(f"{self.kind} name must be kebab-case ending in -vN, got {name!r}.")

        def add(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ConfigError(f"{self.kind} {name!r} is already registered.")
            self._factories[name] = factory
            return factory

        return add

    def names(self) -> list[str]:
        """All registered versioned names, sorted."""
        return sorted(self._factories)

    def resolve(self, name: str) -> str:
        """Return the versioned name for ``name`` (a versioned name or a bare one)."""
        if name in self._factories:
            return name
        versions = [
            (int(m.group(2)), full)
            for full in self._factories
            if (m := _VERSIONED.match(full)) and full[: m.start(2) - 2] == name
        ]
        if versions:
            return max(versions)[1]
        bare = {full.rsplit("-v", 1)[0] for full in self._factories}
        hint = did_you_mean(name, [*self._factories, *bare])
        known = ", ".join(self.names())
        raise UnknownComponentError(
            f"Unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {known}."
        )

    def factory(self, name: str) -> Callable[..., T]:
        """The factory registered under ``name`` (bare names resolve to the latest version)."""
        return self._factories[self.resolve(name)]

    def create(self, name: str, **params: object) -> T:
        """Build the component ``name`` with keyword parameters ``params``."""
        return self.factory(name)(**params)
