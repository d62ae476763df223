"""Named, step-addressed random streams and counter-based per-person noise.

Every draw in feedlab comes from a stream named by a dotted constant (``"people.choice"``) and
addressed by the simulation step, so a stream's numbers do not depend on how much any other stream
consumed (NumPy's parallel-RNG guidance; SPEC 7).

Two kinds of draws exist:

* :meth:`Streams.rng` gives a :class:`numpy.random.Generator` for bulk draws whose shape is fixed by
  the configuration (for example one uniform per person per tick).
* :meth:`Streams.uniform` gives *counter-based* uniforms: the number for (person ``i``, feed slot
  ``j``, channel ``c``) at step ``t`` is a hash of those integers (SplitMix64, as in Random123's
  counter-based generators). Person ``i`` therefore meets the same dice under every ranking policy,
  whoever else is active - the basis of common random numbers across experiment arms.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feedlab.core.arrays import F64Array
from feedlab.core.kernels import SPLITMIX, outer_counters, uniform_outer

_GOLDEN, _M1, _M2, _S30, _S27, _S31, _S11, _TO_UNIT = SPLITMIX

# Stream names: one dotted constant per consumer (STYLE B4).
WORLD_PEOPLE = "world.people"
WORLD_GRAPH = "world.graph"
WORLD_POSTS = "world.posts"
PEOPLE_SESSIONS = "people.sessions"
PEOPLE_CREATION = "people.creation"
PEOPLE_POSTING = "people.posting"
PEOPLE_CHOICE = "people.choice"
PEOPLE_DRIFT = "people.drift"
PLATFORM_RANK = "platform.rank"
PLATFORM_CANDIDATES = "platform.candidates"
PLATFORM_EXPLORE = "platform.explore"
METRICS_SAMPLE = "metrics.sample"
AUDIT_PUPPETS = "audit.puppets"
AUDIT_RANK = "audit.rank"
AUDIT_EXPLORE = "audit.explore"
GYM_RANK = "gym.rank"
PEOPLE_SURVEY = "people.survey"
PEOPLE_CONTROLS = "people.controls"
PLATFORM_SURVEY = "platform.survey"
# Interventions and adversaries (docs/interventions.md).
WORLD_BOTS = "world.bots"
WORLD_FACT_CHECK = "world.fact_check"
PEOPLE_INTERVENTIONS = "people.interventions"
PEOPLE_BOTS = "people.bots"
PEOPLE_ADS = "people.ads"
PEOPLE_NOTIFICATIONS = "people.notifications"
PEOPLE_CONSENT = "people.consent"
PLATFORM_ADS = "platform.ads"
PLATFORM_OPTIMIZER = "platform.optimizer"


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finalizer: a bijective avalanche of 64-bit integers (Steele et al. 2014)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@dataclass(frozen=True)
class Streams:
    """Named random streams derived from one root seed, addressable by step.

    Attributes:
        root_seed: the experiment's root seed.
        replicate: index of the replicate (seed) within the experiment.
    """

    root_seed: int
    replicate: int = 0

    def _key(self, name: str, step: int) -> tuple[int, int, int]:
        # crc32 is stable across processes, unlike hash().
        return (self.replicate, zlib.crc32(name.encode()), step)

    def rng(self, name: str, step: int = 0) -> np.random.Generator:
        """A fresh Generator for stream ``name`` at ``step``."""
        seq = np.random.SeedSequence(self.root_seed, spawn_key=self._key(name, step))
        return np.random.default_rng(seq)

    def counter_key(self, name: str, step: int) -> int:
        """The 64-bit key that seeds counter-based draws of ``name`` at ``step``."""
        seq = np.random.SeedSequence(self.root_seed, spawn_key=self._key(name, step))
        return int(seq.generate_state(1, dtype=np.uint64)[0])

    def uniform(self, name: str, step: int, *counters: npt.ArrayLike) -> F64Array:
        """Counter-based uniforms in [0, 1), one per element of the broadcast ``counters``.

        Args:
            name: stream name.
            step: simulation step.
            *counters: non-negative integer arrays (e.g. person ids, slots, a channel number);
                they broadcast against each other.

        Returns:
            float64 array of the broadcast shape. The value at an index depends only on the
            seed, replicate, stream, step and the counters at that index.
        """
        key = self.counter_key(name, step)
        axes = outer_counters(counters)
        if axes is not None:
            # (person, slot, channel) counters: the compiled kernel hashes each prefix once.
            shape = np.broadcast_shapes(*(np.shape(c) for c in counters))
            return uniform_outer(key, *axes).reshape(shape)
        h = np.full((1,), key, dtype=np.uint64)
        with np.errstate(over="ignore"):  # modular uint64 arithmetic is the point
            for counter in counters:
                c = np.asarray(counter).astype(np.uint64, copy=False)
                h = _mix(h + (c + np.uint64(1)) * _GOLDEN)
        shape = np.broadcast_shapes(*(np.shape(c) for c in counters)) if counters else ()
        return ((h >> _S11).astype(np.float64) * _TO_UNIT).reshape(shape)
