"""A die's outcome against a sigmoid is decided by a table where it is sure, exactly as computed."""

import numpy as np

from feedlab.behaviour import kernels as bk


def _direct(die: np.float32, z: np.float32) -> bool:
    return bool(die < bk._sigmoid32(z))


def test_the_table_decides_as_the_sigmoid_would(seed: int) -> None:
    rng = np.random.default_rng(seed)
    edges = np.arange(65, dtype=np.float64) / 64
    with np.errstate(divide="ignore"):
        logit_edges = np.log(edges) - np.log1p(-edges)
    finite = logit_edges[np.isfinite(logit_edges)]
    # logits anywhere, and right at and around every bucket edge and its margin
    near = np.concatenate([finite + d for d in (-2e-3, -1e-3, -1e-6, 0.0, 1e-6, 1e-3, 2e-3)])
    z = np.concatenate([rng.normal(0, 4, 20_000), near, [0.0, -0.0, 30.0, -30.0, 89.0, -89.0]])
    z = np.concatenate([z, [np.inf, -np.inf, np.nan]]).astype(np.float32)
    below_one = np.nextafter(np.float32(1), np.float32(0))
    dice = np.concatenate(
        [rng.random(z.size), edges[:-1], [below_one], 1.0 / (1.0 + np.exp(-near))]
    ).astype(np.float32)
    dice = np.minimum(dice, below_one)
    decided = 0
    for die, logit in zip(rng.permutation(np.resize(dice, z.size)), z, strict=True):
        assert bk._below_sigmoid(die, logit) == _direct(die, logit), (die, logit)
        b = int(die * 64)
        decided += bool(logit < bk._SURELY_NOT[b] or logit > bk._SURELY[b])
    # and every die against the sigmoid's own value at the bucket edges
    for die in dice[: 64 * 3]:
        for logit in near.astype(np.float32)[::7]:
            assert bk._below_sigmoid(die, logit) == _direct(die, logit), (die, logit)
    assert decided > 0.9 * z.size  # the table decides most, or it saves nothing
