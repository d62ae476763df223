"""The world: people, their follow graph and the live posts, with the simulated clock."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, field_validator

from feedlab.core.params import Params
from feedlab.core.random import WORLD_GRAPH, WORLD_PEOPLE, Streams
from feedlab.world.clock import Clock
from feedlab.world.graph import FollowGraph, GraphParams, generate_graph
from feedlab.world.people import People, PeopleParams, generate_people
from feedlab.world.posts import PostParams, Posts, empty_posts

_TICK_HOURS = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0)


class WorldParams(Params):
    """The simulated society.

    Attributes:
        n_people: number of people.
        n_topics: number of content topics.
        tick_hours: length of one tick in hours.
        people: how people are drawn.
        graph: how the follow graph is drawn.
        posts: post content and lifetime.
    """

    n_people: int = Field(10_000, ge=10, le=50_000_000)
    n_topics: int = Field(16, ge=2, le=256)
    tick_hours: float = 1.0
    people: PeopleParams = PeopleParams()
    graph: GraphParams = GraphParams()
    posts: PostParams = PostParams()

    @field_validator("tick_hours")
    @classmethod
    def _divides_day(cls, value: float) -> float:
        if value not in _TICK_HOURS:
            allowed = ", ".join(f"{h:g}" for h in _TICK_HOURS)
            raise ValueError(f"one of {allowed} (a divisor of 24 hours); got {value!r}.")
        return value


@dataclass(frozen=True, slots=True)
class World:
    """Ground truth of one simulated society at one moment."""

    people: People
    graph: FollowGraph
    posts: Posts
    clock: Clock

    @property
    def n_people(self) -> int:
        """Number of people."""
        return self.people.n_people


def post_capacity(params: WorldParams) -> int:
    """Slots the post ring needs: live posts over a lifetime with a wide safety margin."""
    if params.posts.capacity:
        return params.posts.capacity
    # Originals plus reshares run to a few posts per person per day; keep 8 per person-day.
    per_person = max(1.0, params.posts.lifetime_hours / 24.0) * 8.0
    return int(params.n_people * per_person) + 4096


def init_world(params: WorldParams, streams: Streams) -> World:
    """Draw the initial society from the ``world.*`` streams.

    The draw depends only on the world parameters and the seed, so every arm of an experiment
    starts from the same people and graph.
    """
    rng = streams.rng(WORLD_PEOPLE)
    people = generate_people(params.people, params.n_people, params.n_topics, rng)
    graph = generate_graph(params.graph, people.leaning, people.interest, streams.rng(WORLD_GRAPH))
    posts = empty_posts(post_capacity(params))
    return World(people=people, graph=graph, posts=posts, clock=Clock(tick_hours=params.tick_hours))
