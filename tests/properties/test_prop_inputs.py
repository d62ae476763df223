"""Malformed and out-of-range configs and command lines end in a clear error, never a traceback."""

import copy
import math
import tomllib
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from feedlab.cli.main import app
from feedlab.core.errors import ConfigError, UnknownComponentError
from feedlab.experiments.config import ExperimentConfig, scenario_text, validate_config

BASE = tomllib.loads(scenario_text("social-dilemma"))
RESOLVED = validate_config(copy.deepcopy(BASE)).model_dump(mode="json")


def _leaves(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*prefix, k))] or [prefix]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*prefix, i))] or [prefix]
    return [prefix]


PATHS = [p for p in _leaves(RESOLVED) if p]
WILD = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _put(raw: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = raw
    for part in path[:-1]:
        if isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                return
            node = node[part]
        elif isinstance(node, dict):
            node = node.setdefault(part, {})
        else:
            return
    if isinstance(node, dict) or (
        isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node)
    ):
        node[path[-1]] = value


mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(PATHS), WILD),
    st.tuples(st.just("unknown"), st.sampled_from(PATHS), st.text(min_size=1, max_size=8)),
    st.tuples(st.just("drop"), st.sampled_from(PATHS), st.none()),
)


def _apply(raw: dict[str, Any], kind: str, path: tuple[str | int, ...], value: Any) -> None:
    if kind == "set":
        _put(raw, path, value)
    elif kind == "unknown":
        _put(raw, (*path[:-1], f"x_{value}"), 1)
    else:
        parent: Any = raw
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
            if parent is None:
                return
        if isinstance(parent, dict):
            parent.pop(path[-1], None)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=4))
def test_every_malformed_config_gets_a_clear_error(mutations) -> None:
    raw = copy.deepcopy(BASE)
    for kind, path, value in mutations:
        _apply(raw, kind, path, value)
    try:
        config = validate_config(raw)
    except (ConfigError, UnknownComponentError) as error:
        message = str(error)
        assert message and "Traceback" not in message
        assert any(token in message for token in (" must ", "Unknown key", " is required"))
        return
    assert isinstance(config, ExperimentConfig)
    assert config.world.n_people >= 10 and math.isfinite(config.world.tick_hours)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_as_a_config_file_gets_a_clear_error(tmp_path_factory, text) -> None:
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text(text, encoding="utf-8")
    from feedlab.experiments.config import load_config

    try:
        load_config(path)
    except (ConfigError, UnknownComponentError) as error:
        assert str(error)


class Launched(Exception):
    """Raised instead of running: the command line was valid."""


FLAGS = st.sampled_from(
    ["--people", "--days", "--seeds", "--set", "--workers", "--out", "--checkpoint-days", "--bogus"]
)
VALUES = st.one_of(
    st.sampled_from(["0", "-1", "3", "1e9", "abc", "", "world.n_people=5", "days=x", "a.b.c=1"]),
    st.text(max_size=10),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["social-dilemma", "socal-dilemma", "ranker-zoo", "missing.toml", ""]),
    st.lists(st.tuples(FLAGS, VALUES), max_size=4),
)
def test_every_command_line_ends_in_a_clear_error_or_a_launch(scenario, flags) -> None:
    args = ["run", *([scenario] if scenario else [])]
    for flag, value in flags:
        args += [flag, value]
    with mock.patch("feedlab.cli.main.run_experiment", side_effect=Launched):
        result = CliRunner().invoke(app, args)
    if isinstance(result.exception, Launched):
        return
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert "Traceback" not in result.output
