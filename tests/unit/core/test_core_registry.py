import re

import pytest

from feedlab.core.errors import ConfigError, UnknownComponentError, did_you_mean
from feedlab.core.registry import Registry


def _make(tag: str):
    def factory(**params: object) -> tuple[str, dict]:
        return tag, params

    return factory


@pytest.fixture
def registry() -> Registry:
    reg: Registry = Registry("widget")
    reg.register("spinner-v1")(_make("spinner-v1"))
    reg.register("spinner-v2")(_make("spinner-v2"))
    reg.register("spinner-v10")(_make("spinner-v10"))
    reg.register("spinner-fast-v3")(_make("spinner-fast-v3"))
    reg.register("gear-v1")(_make("gear-v1"))
    return reg


def test_names_are_sorted_versioned_names(registry: Registry) -> None:
    assert registry.names() == sorted(
        ["spinner-v1", "spinner-v2", "spinner-v10", "spinner-fast-v3", "gear-v1"]
    )


def test_bare_name_resolves_to_the_highest_version_numerically(registry: Registry) -> None:
    assert registry.resolve("spinner") == "spinner-v10"
    assert registry.resolve("gear") == "gear-v1"
    # A longer name sharing a prefix is a different component.
    assert registry.resolve("spinner-fast") == "spinner-fast-v3"


def test_versioned_name_resolves_to_itself(registry: Registry) -> None:
    assert registry.resolve("spinner-v2") == "spinner-v2"
    assert registry.factory("spinner-v1") is not registry.factory("spinner")


def test_create_passes_parameters_to_the_latest_factory(registry: Registry) -> None:
    assert registry.create("spinner", speed=3) == ("spinner-v10", {"speed": 3})
    assert registry.create("spinner-v1") == ("spinner-v1", {})


def test_unknown_name_raises_with_did_you_mean(registry: Registry) -> None:
    with pytest.raises(UnknownComponentError, match=re.escape("Did you mean 'spinner'?")) as info:
        registry.resolve("spiner")
    message = str(info.value)
    assert "Unknown widget 'spiner'." in message
    assert "spinner-v10" in message  # the known names are listed
    assert isinstance(info.value, LookupError)


def test_unknown_name_without_a_close_match_has_no_hint(registry: Registry) -> None:
    with pytest.raises(UnknownComponentError, match=re.escape("Unknown widget 'zzzz'.")) as info:
        registry.create("zzzz")
    assert "Did you mean" not in str(info.value)


def test_unknown_version_of_a_known_name_is_refused(registry: Registry) -> None:
    with pytest.raises(UnknownComponentError, match=re.escape("'gear-v2'")):
        registry.resolve("gear-v2")


def test_duplicate_name_is_refused(registry: Registry) -> None:
    with pytest.raises(ConfigError, match=re.escape("widget 'gear-v1' is already registered.")):
        registry.register("gear-v1")(_make("again"))
    assert registry.create("gear") == ("gear-v1", {})  # the original stays


@pytest.mark.parametrize(
    "name", ["gear", "Gear-v1", "gear_v1", "gear-v", "gear-1", "-gear-v1", "gear-v1x", ""]
)
def test_unversioned_or_malformed_names_are_refused(registry: Registry, name: str) -> None:
    with pytest.raises(ConfigError, match="kebab-case ending in -vN"):
        registry.register(name)
    assert name not in registry.names()


def test_did_you_mean_helper() -> None:
    assert did_you_mean("chronologcal", ["chronological", "random"]) == (
        " Did you mean 'chronological'?"
    )
    assert did_you_mean("qqq", ["chronological"]) == ""
