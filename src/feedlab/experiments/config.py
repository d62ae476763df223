"""Experiment configuration: TOML in, one validated, frozen object out.

An experiment is a world, a behaviour model, the platform's shared settings, a list of arms
(a ranker with its parameters and optional platform overrides), a number of days and of seeds.
Every error names the dotted config path, what is allowed and what was given.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import Field, ValidationError, field_validator, model_validator

from feedlab.behaviour.params import BehaviourParams
from feedlab.core.errors import ConfigError, UnknownComponentError, did_you_mean
from feedlab.core.params import Params
from feedlab.engine.goals import check_goal_settings
from feedlab.engine.interventions import (
    InterventionParamsError,
    Interventions,
    build_interventions,
)
from feedlab.platform.rankers.base import Ranker
from feedlab.platform.rankers.registry import RANKERS
from feedlab.platform.state import PlatformParams
from feedlab.world.bots import AdversaryParams
from feedlab.world.world import WorldParams

SCENARIO_PACKAGE = "feedlab.experiments.scenarios"
DEFAULT_SCENARIO = "social-dilemma"


class ArmConfig(Params):
    """One arm: the platform as one policy would run it.

    Attributes:
        name: the arm's label in results.
        ranker: registered ranker name (``engagement`` or a pinned ``engagement-v1``).
        ranker_params: keyword parameters of the ranker.
        platform: overrides of the experiment's ``platform`` table for this arm only.
        interventions: interventions composed with the ranker, each a table
            ``{name = "misinfo-label", <parameters>}`` (docs/interventions.md).
    """

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
    ranker: str = "engagement"
    ranker_params: dict[str, Any] = Field(default_factory=dict)
    platform: dict[str, Any] = Field(default_factory=dict)
    interventions: list[dict[str, Any]] = Field(default_factory=list, max_length=32)

    @field_validator("ranker")
    @classmethod
    def _known_ranker(cls, value: str) -> str:
        try:
            return RANKERS.resolve(value)
        except UnknownComponentError:
            known = ", ".join(RANKERS.names())
            bare = sorted({n.rsplit("-v", 1)[0] for n in RANKERS.names()})
            hint = did_you_mean(value, [*RANKERS.names(), *bare])
            raise ValueError(f"a registered ranker ({known}); got {value!r}.{hint}") from None


def require_unique_names(field: str, names: list[str]) -> None:
    """Refuse a list whose entries repeat a name, naming the first repeat (``field[i].name``).

    Raises:
        ConfigError: at the first name seen before.
    """
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"{field}[{i}].name must be unique, got {name!r} twice.")


class ExperimentConfig(Params):
    """A whole experiment.

    Attributes:
        name: experiment name, used in the run folder's name.
        description: what the experiment shows.
        days: simulated days per run that are recorded.
        warmup_days: days simulated before recording starts (each arm under its own settings).
        seeds: number of replicates; replicate ``i`` uses seed ``root_seed + i``.
        root_seed: seed of the first replicate.
        baseline: arm that differences are taken against (default: the first arm).
        world: the simulated society.
        behaviour: how people act and change.
        platform: platform settings shared by all arms.
        arms: the policies compared.
        reference: arm whose reach amplification is measured against (Huszár et al. 2022);
            default: the first arm with the chronological ranker, if any.
        adversaries: a network of coordinated bots in the society (the same in every arm).
    """

    name: str = Field(
        "experiment", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
    )
    description: str = ""
    days: int = Field(30, ge=1, le=3650)
    warmup_days: int = Field(0, ge=0, le=365)
    seeds: int = Field(3, ge=1, le=1000)
    root_seed: int = Field(20261122, ge=0, lt=2**63)
    baseline: str = ""
    world: WorldParams = WorldParams()
    behaviour: BehaviourParams = BehaviourParams()
    platform: PlatformParams = PlatformParams()
    arms: list[ArmConfig] = Field(min_length=1, max_length=64)
    reference: str = ""
    adversaries: AdversaryParams = AdversaryParams()

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        names = [arm.name for arm in self.arms]
        require_unique_names("arms", names)
        if self.baseline and self.baseline not in names:
            hint = did_you_mean(self.baseline, names)
            raise ConfigError(
                f"baseline must be one of the arm names ({', '.join(names)}), got {self.baseline!r}.{hint}"
            )
        if self.reference and self.reference not in names:
            hint = did_you_mean(self.reference, names)
            raise ConfigError(
                f"reference must be one of the arm names ({', '.join(names)}), got {self.reference!r}.{hint}"
            )
        for i in range(len(self.arms)):
            self.arm_platform(i)
            self.arm_ranker(i)
            self.arm_interventions(i)
            try:  # the platform's goal blocks against this arm's ranker and the world
                check_goal_settings(self.arm_platform(i), self.arm_ranker(i), self.world.n_topics)
            except ConfigError as error:
                raise ConfigError(f"arms[{i}] ({self.arms[i].name}): {error}") from None
        if self.adversaries.n_bots >= self.world.n_people:
            raise ConfigError(
                f"adversaries.n_bots must be below world.n_people ({self.world.n_people}), got {self.adversaries.n_bots!r}."
            )
        return self

    @property
    def baseline_arm(self) -> str:
        """The arm differences are taken against."""
        return self.baseline or self.arms[0].name

    @property
    def reference_arm(self) -> str | None:
        """The arm amplification is measured against: ``reference`` or the first chronological."""
        if self.reference:
            return self.reference
        chronological = [a.name for a in self.arms if a.ranker.startswith("chronological-")]
        return chronological[0] if chronological else None

    def arm_platform(self, index: int) -> PlatformParams:
        """The platform settings of arm ``index`` (shared table plus the arm's overrides)."""
        arm = self.arms[index]
        if not arm.platform:
            return self.platform
        merged = _deep_merge(self.platform.model_dump(), arm.platform)
        try:
            return PlatformParams.model_validate(merged)
        except ValidationError as error:
            raise ConfigError(format_errors(error, prefix=f"arms[{index}].platform")) from None

    def arm_ranker(self, index: int) -> Ranker:
        """A fresh ranker for arm ``index``."""
        arm = self.arms[index]
        try:
            return RANKERS.create(arm.ranker, **arm.ranker_params)
        except ValidationError as error:
            factory = RANKERS.factory(arm.ranker)
            model = factory if isinstance(factory, type) and issubclass(factory, Params) else None
            message = format_errors(error, prefix=f"arms[{index}].ranker_params", model=model)
            raise ConfigError(message) from None
        except TypeError as error:
            raise ConfigError(
                f"arms[{index}].ranker_params are not accepted by {arm.ranker}: {error}."
            ) from None

    def arm_interventions(self, index: int) -> Interventions:
        """The validated interventions of arm ``index``."""
        prefix = f"arms[{index}].interventions"
        try:
            return build_interventions(self.arms[index].interventions, prefix)
        except InterventionParamsError as error:
            where = f"{prefix}[{error.index}]"
            raise ConfigError(format_errors(error.error, prefix=where, model=error.model)) from None

    def to_toml(self) -> str:
        """The fully resolved config as TOML (every default written out)."""
        raw = self.model_dump(mode="json")
        for index, arm in enumerate(raw["arms"]):  # interventions with versioned names, defaults
            bundle = self.arm_interventions(index)
            arm["interventions"] = [
                {"name": name, **item.model_dump(mode="json")}
                for name, item in zip(bundle.names(), bundle.items, strict=True)
            ]
        return tomli_w.dumps(raw)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts[-1 if parts else 0 :] = [f"{parts[-1] if parts else ''}[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "config"


def _allowed_keys(model: type[Params], loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the (nested) parameter class at ``loc``, for did-you-mean hints."""
    current: Any = model
    for item in loc:
        if isinstance(item, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or item not in fields:
            return []
        annotation = fields[item].annotation
        args = getattr(annotation, "__args__", ())
        current = args[0] if args else annotation
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def format_errors(
    error: ValidationError, prefix: str = "", model: type[Params] | None = None
) -> str:
    """Turn a pydantic error into our message format, one sentence per problem."""
    messages = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path = _path(loc, prefix)
        if item["type"] == "extra_forbidden":
            parent = _path(loc[:-1], prefix)
            allowed = _allowed_keys(model, loc[:-1]) if model else []
            hint = did_you_mean(str(loc[-1]), allowed)
            known = f" Allowed keys: {', '.join(allowed)}." if allowed else ""
            messages.append(f"Unknown key {loc[-1]!r} in {parent}.{hint}{known}")
            continue
        if item["type"] == "missing":
            messages.append(f"{path} is required.")
            continue
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, ConfigError | UnknownComponentError):
            messages.append(str(cause))  # already names its path
            continue
        text = str(item["msg"]).replace("String should match pattern ", "a string matching ")
        for lead in ("Input should be ", "Value error, ", "Assertion failed, "):
            text = text.replace(lead, "")
        if "; got " in text:  # our validators state the constraint and the value themselves
            constraint, _, rest = text.partition("; got ")
            messages.append(f"{path} must be {constraint}, got {rest}")
            continue
        given = item.get("input")
        if isinstance(given, dict):
            given = "a table"
        messages.append(f"{path} must be {text}, got {given!r}.")
    return " ".join(messages)


def scenario_names() -> list[str]:
    """Names of the built-in scenarios."""
    files = resources.files(SCENARIO_PACKAGE).iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".toml"))


def scenario_text(name: str) -> str:
    """The TOML text of built-in scenario ``name``."""
    names = scenario_names()
    if name not in names:
        raise UnknownComponentError(
            f"Unknown scenario {name!r}.{did_you_mean(name, names)} Known scenarios: {', '.join(names)}."
        )
    return (resources.files(SCENARIO_PACKAGE) / f"{name}.toml").read_text(encoding="utf-8")


def parse_value(text: str) -> Any:
    """A ``--set`` value as TOML (number, bool, string, array, inline table), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply one ``dotted.key=value`` (list items by index: ``arms.1.ranker=random``) in place."""
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set must be dotted.key=value, got {assignment!r}.")
    assign(raw, key.strip(), parse_value(value.strip()), source="--set")


def assign(raw: dict[str, Any], key: str, value: Any, source: str = "--set") -> None:
    """Set the dotted ``key`` of a raw config to ``value`` in place (list items by index).

    Args:
        raw: the parsed TOML.
        key: dotted key, e.g. ``world.n_people`` or ``arms.1.ranker``.
        value: the value to set.
        source: where the assignment came from, for messages (``--set``, ``sweep.grid``).
    """
    parts = key.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(
                    f"{source} {where} must index an existing list item (0-{len(node) - 1}), got {part!r}."
                )
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
            if not isinstance(node, dict | list):
                raise ConfigError(f"{source} {where} must name a table, got a value {node!r}.")
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ConfigError(f"{source} {key} must index an existing list item, got {last!r}.")
        node[int(last)] = value
    else:
        node[last] = value


def load_config(source: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Load a scenario by name or a TOML file, apply ``--set`` overrides and validate.

    Raises:
        ConfigError: for malformed TOML, unknown keys and out-of-range values.
        UnknownComponentError: for an unknown scenario or ranker.
    """
    text: str
    path = Path(source)
    if str(source).endswith(".toml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file must exist, got {str(source)!r}.")
        text = path.read_text(encoding="utf-8")
    else:
        text = scenario_text(str(source))
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source} must be valid TOML: {error}.") from None
    for assignment in overrides or []:
        apply_override(raw, assignment)
    return validate_config(raw)


def validate_config(raw: dict[str, Any]) -> ExperimentConfig:
    """Validate a raw (parsed TOML) config."""
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(format_errors(error, model=ExperimentConfig)) from None
