"""The trecs-content-filtering scenario loads with T-RECS' ContentFiltering sizes."""

from feedlab.experiments.config import load_config
from feedlab.platform.rankers.content import ContentFiltering


def test_the_trecs_scenario_loads_with_its_sizes() -> None:
    config = load_config("trecs-content-filtering", [])
    assert config.world.n_people == 10_000
    assert config.world.n_topics == 32
    assert config.world.tick_hours == 24
    assert config.platform.feed_size == 10
    assert [arm.name for arm in config.arms] == ["content-filtering", "random"]
    assert isinstance(config.arm_ranker(0), ContentFiltering)
