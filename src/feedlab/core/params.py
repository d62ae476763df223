"""Base class for parameter groups: frozen, validated, unknown keys refused.

Every tunable number of feedlab lives in a :class:`Params` subclass beside the code that uses it.
The experiment config composes these classes, so one concept has one name in the TOML key, the
field and the docs (STYLE B4), and validation happens once at the boundary.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    """A frozen group of parameters; unknown keys are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
