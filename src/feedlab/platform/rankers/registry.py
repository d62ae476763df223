"""The ranker registry, filled explicitly with the built-ins."""

from __future__ import annotations

from feedlab.core.registry import Registry
from feedlab.platform.external import ExternalRanker
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.rankers.bridging import Bridging
from feedlab.platform.rankers.builtin import Chronological, Engagement, Popularity, Random
from feedlab.platform.rankers.content import ContentFiltering
from feedlab.platform.rankers.humane import Diversity, StatedPreference, UserControlled, Wellbeing

RANKERS: Registry[Ranker] = Registry("ranker")
RANKERS.register("engagement-v1")(Engagement)
RANKERS.register("chronological-v1")(Chronological)
RANKERS.register("popularity-v1")(Popularity)
RANKERS.register("random-v1")(Random)
RANKERS.register("external-v1")(ExternalRanker)
RANKERS.register("bridging-v1")(Bridging)
RANKERS.register("diversity-v1")(Diversity)
RANKERS.register("wellbeing-v1")(Wellbeing)
RANKERS.register("stated-preference-v1")(StatedPreference)
RANKERS.register("user-controlled-v1")(UserControlled)
RANKERS.register("content-filtering-v1")(ContentFiltering)
