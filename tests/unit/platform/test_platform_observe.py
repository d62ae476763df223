"""The observation boundary: the platform sees only what a real platform could log."""

import ast
import dataclasses
from pathlib import Path

import numpy as np

import feedlab.platform
from feedlab.behaviour.choice import ACTIONS, Responses
from feedlab.platform.observe import (
    LOGGED_ACTIONS,
    LONG_DWELL_SECONDS,
    FollowView,
    ImpressionLog,
    PostView,
    observe_follows,
    observe_impressions,
    observe_posts,
)
from feedlab.world.graph import graph_from_edges
from feedlab.world.posts import Posts, empty_posts

GROUND_TRUTH = {
    "leaning",
    "outrage",
    "is_false",
    "novelty",
    "quality",
    "cascade_size",
    "cascade_depth",
    "cascade_views",
    "interest",
    "outrage_susceptibility",
    "credulity",
    "wellbeing",
    "habit",
    "affect_out",
}
LOGGABLE_IMPRESSION_FIELDS = {"tick", "persons", "post_ids", "seen", "dwell_seconds", "actions"}
PLATFORM_DIR = Path(feedlab.platform.__file__).parent


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_post_view_has_no_ground_truth_column() -> None:
    names = _field_names(PostView)
    for forbidden in ("leaning", "outrage", "is_false", "novelty", "quality"):
        assert forbidden not in names
    assert not names & GROUND_TRUTH
    # What it does expose: the observable columns of the ring.
    assert {"id", "author", "created", "root", "slant", "exclamations"} <= names


def test_observe_posts_copies_exactly_the_observable_columns() -> None:
    posts = empty_posts(1024)
    posts.id[3] = 3
    posts.slant[3] = 0.25
    posts.leaning[3] = -0.9
    view = observe_posts(posts)
    assert view.capacity == posts.capacity
    for name in _field_names(PostView) - {"capacity"}:
        np.testing.assert_array_equal(getattr(view, name), getattr(posts, name), err_msg=name)
    hidden = set(Posts.__slots__) - _field_names(PostView)
    assert {"leaning", "outrage", "is_false", "novelty", "quality"} <= hidden


def test_impression_log_holds_only_loggable_fields() -> None:
    assert _field_names(ImpressionLog) == LOGGABLE_IMPRESSION_FIELDS
    assert not _field_names(ImpressionLog) & GROUND_TRUTH
    assert (*ACTIONS, "long_dwell") == LOGGED_ACTIONS


def test_follow_view_is_the_follow_graph() -> None:
    graph = graph_from_edges(np.array([0, 1, 2]), np.array([1, 2, 0]), 3)
    view = observe_follows(graph)
    assert isinstance(view, FollowView)
    assert view.n_people == 3
    np.testing.assert_array_equal(view.following, graph.following)
    np.testing.assert_array_equal(view.followers_indptr, graph.followers_indptr)


def test_observe_impressions_logs_only_seen_slots_and_rounded_dwell() -> None:
    seen = np.array([[True, True, False], [True, False, False]])
    false = np.zeros_like(seen)
    like = np.array([[False, True, False], [True, False, False]])
    dwell = np.array([[3.14159, 75.04, 0.0], [59.99, 0.0, 0.0]], np.float32)
    responses = Responses(
        seen=seen,
        click=false,
        like=like,
        share=false,
        reply=false,
        hide=false,
        follow=false,
        dwell_seconds=dwell,
    )
    ids = np.array([[11, 12, 13], [21, 22, 23]], np.uint32)
    log = observe_impressions(7, np.array([4, 9]), ids, responses)
    assert log.tick == 7
    assert log.n_impressions == 3
    np.testing.assert_array_equal(log.post_ids, [[11, 12, 0], [21, 0, 0]])
    np.testing.assert_allclose(log.dwell_seconds, [[3.1, 75.0, 0.0], [60.0, 0.0, 0.0]], atol=1e-5)
    assert log.actions.shape == (2, 3, len(LOGGED_ACTIONS))
    np.testing.assert_array_equal(log.actions[..., LOGGED_ACTIONS.index("like")], like)
    long_dwell = log.actions[..., LOGGED_ACTIONS.index("long_dwell")]
    np.testing.assert_array_equal(long_dwell, log.dwell_seconds >= LONG_DWELL_SECONDS)
    assert long_dwell[0, 1]


def _imported_modules(source: str, package: str) -> list[str]:
    """Every module (and ``module.name``) imported by ``source``, relative imports resolved."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: level 1 is the module's own package
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                module = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def _package_of(path: Path) -> str:
    return ".".join(path.relative_to(PLATFORM_DIR.parent.parent).parts[:-1])


def _forbidden(names: list[str]) -> list[str]:
    return [
        n for n in names if n.split(".")[:2] in (["feedlab", "world"], ["feedlab", "behaviour"])
    ]


def test_platform_modules_reach_the_world_only_through_observe() -> None:
    modules = sorted(p for p in PLATFORM_DIR.rglob("*.py") if p.name != "observe.py")
    names = {p.relative_to(PLATFORM_DIR).as_posix() for p in modules}
    assert {"candidates.py", "estimator.py", "state.py", "rankers/builtin.py"} <= names
    # the ad auction, the targeting inventory, growth, the optimizer and consent too
    assert {"ads.py", "targeting.py", "growth.py", "optimizer.py", "consent.py"} <= names
    offenders = {
        path.relative_to(PLATFORM_DIR).as_posix(): _forbidden(
            _imported_modules(path.read_text(encoding="utf-8"), _package_of(path))
        )
        for path in modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    # observe.py itself is the bridge and does import the world.
    observe = PLATFORM_DIR / "observe.py"
    assert _forbidden(_imported_modules(observe.read_text(encoding="utf-8"), "feedlab.platform"))


def test_the_import_scan_resolves_absolute_and_relative_imports() -> None:
    source = (
        "import numpy as np\n"
        "import feedlab.behaviour.choice\n"
        "from ...world import posts\n"
        "from ..observe import PostView\n"
        "from . import base\n"
        "def f():\n"
        "    from feedlab.world.graph import FollowGraph\n"
    )
    names = _imported_modules(source, "feedlab.platform.rankers")
    assert "feedlab.platform.observe.PostView" in names
    assert "feedlab.platform.rankers.base" in names
    assert _forbidden(names) == [
        "feedlab.behaviour.choice",
        "feedlab.world",
        "feedlab.world.posts",
        "feedlab.world.graph",
        "feedlab.world.graph.FollowGraph",
    ]
