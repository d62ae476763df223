"""A Gymnasium environment in which the agent is the platform's ranker (:class:`FeedEnv`).

Importing this package registers nothing (no import-time side effects); call
:func:`feedlab.gym.env.register_envs` to make ``gymnasium.make("feedlab/Feed-v0")`` work.
"""

from feedlab.gym.env import FeedEnv, FeedEnvParams, register_envs

__all__ = ["FeedEnv", "FeedEnvParams", "register_envs"]
