"""Alert rules of a site, as written in the site configuration (``[[sites.<id>.rules]]``).

Every rule has a ``kind`` (``threshold`` when omitted) and the common fields ``id``,
``severity``, ``for_count`` (consecutive acquisitions meeting the condition before it fires),
``for_minutes`` (and at least this long), ``repeat_minutes`` (repeat interval while firing;
default ``[alerting].repeat_minutes``; 0 = never) and ``runbook`` (a link shown in
messages). Water-quality rules (``threshold``, ``who_cyano``, ``gb3838``, ``tli``, ``rate``,
``extent``)
only see accepted acquisitions with in-domain values; data-quality rules (``gap``,
``sensor``) watch the acquisitions themselves. See docs/alerts.md for examples.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..params import PARAMETER_IDS, PARAMETERS
from .classes import (GB3838_CLASSES, GB3838_CLASSES_ZH, TLI_CLASSES, TLI_CLASSES_ZH, WHO_PRESETS,
                      class_number)

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
Roman = Literal["I", "II", "III", "IV", "V"]


def _check_param(param: str) -> None:
    if param not in PARAMETER_IDS:
        raise ValueError(f"unknown parameter {param!r}; known: {', '.join(PARAMETER_IDS)}")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: ClassVar[str] = "water"   # "water" (water quality) or "data" (data quality)
    ordered: ClassVar[bool] = True      # late or repeated acquisitions are ignored

    id: str | None = None
    severity: Severity = "warning"
    for_count: Annotated[int, Field(ge=1)] = 1
    for_minutes: Annotated[float, Field(ge=0)] = 0.0
    repeat_minutes: Annotated[float, Field(ge=0)] | None = None
    runbook: str | None = None

    @property
    def rule_id(self) -> str:
        """Stable id of the rule within its site."""
        return self.id or self._default_id()

    def _default_id(self) -> str:  # pragma: no cover - every kind overrides
        raise NotImplementedError

    @property
    def params(self) -> tuple[str, ...]:
        """Parameters the rule looks at (for subscriber filters)."""
        p = getattr(self, "param", None)
        return (p,) if p else ()

    def severity_for(self, level: int) -> str:
        """Severity of the alert at a level (1 = the first level)."""
        return self.severity

    def level_name(self, level: int, lang: str = "en") -> str:
        """Name of a level ("" when the rule has a single level)."""
        return ""


class ThresholdRule(_Rule):
    """A parameter beyond a threshold, with hysteresis.

    Fires after ``for_count`` consecutive valid acquisitions above ``above`` (or below
    ``below``), and at least ``for_minutes`` after the first; resolves once a valid value is
    back at or past ``clear`` (default: the threshold itself).
    """

    kind: Literal["threshold"] = "threshold"
    param: str
    above: float | None = None
    below: float | None = None
    clear: float | None = None

    @model_validator(mode="after")
    def _check(self) -> ThresholdRule:
        _check_param(self.param)
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        if self.clear is not None:
            if self.above is not None and self.clear > self.above:
                raise ValueError("'clear' must not exceed 'above' (hysteresis)")
            if self.below is not None and self.clear < self.below:
                raise ValueError("'clear' must not be below 'below' (hysteresis)")
        return self

    def _default_id(self) -> str:
        side = f"above-{self.above:g}" if self.above is not None else f"below-{self.below:g}"
        return f"{self.param}-{side}"


class WhoCyanoRule(_Rule):
    """WHO cyanobacteria alert levels on chlorophyll-a (a preset of levelled thresholds).

    The alert escalates and de-escalates between levels; a level is left once chl-a is at
    or below ``clear_ratio`` × its threshold.
    """

    kind: Literal["who_cyano"]
    guideline: Literal[tuple(WHO_PRESETS)] = "recreational-2021"  # type: ignore[valid-type]
    param: Literal["chl_a"] = "chl_a"
    clear_ratio: Annotated[float, Field(gt=0, le=1)] = 0.8
    severities: list[Severity] | None = None

    @model_validator(mode="after")
    def _check(self) -> WhoCyanoRule:
        n = len(WHO_PRESETS[self.guideline])
        if self.severities is not None and len(self.severities) != n:
            raise ValueError(f"'severities' needs {n} entries, one per level of {self.guideline}")
        return self

    @property
    def levels(self) -> tuple[tuple[float, str, str, str], ...]:
        return WHO_PRESETS[self.guideline]

    def _default_id(self) -> str:
        return f"who-{self.guideline}"

    def severity_for(self, level: int) -> str:
        if self.severities is not None:
            return self.severities[level - 1]
        return self.levels[level - 1][3]

    def level_name(self, level: int, lang: str = "en") -> str:
        return self.levels[level - 1][2 if lang == "zh" else 1] if level >= 1 else ""


class Gb3838Rule(_Rule):
    """GB 3838-2002 class worse than the target class (default: the site's ``target_class``).

    Each level is one class further; a parameter leaves a class once its value is at or
    below ``clear_ratio`` × that class's limit. The parameters default to those with
    GB 3838 limits that apply to the site's water body.
    """

    kind: Literal["gb3838"]
    target: Roman | None = None
    params_: list[str] | None = Field(default=None, alias="params")
    clear_ratio: Annotated[float, Field(gt=0, le=1)] = 0.9

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _check(self) -> Gb3838Rule:
        for p in self.params_ or ():
            _check_param(p)
            if PARAMETERS[p].gb3838_limits is None:
                raise ValueError(f"{p!r} has no GB 3838-2002 limits")
        return self

    @property
    def params(self) -> tuple[str, ...]:
        if self.params_:
            return tuple(self.params_)
        return tuple(p for p, v in PARAMETERS.items() if v.gb3838_limits is not None)

    def _default_id(self) -> str:
        return f"gb3838-{self.target or 'site'}"

    def level_name(self, level: int, lang: str = "en") -> str:
        k = class_number(self.target or "III") + level
        names = GB3838_CLASSES_ZH if lang == "zh" else GB3838_CLASSES
        return names[min(k, 6)] if level >= 1 else ""


class TliRule(_Rule):
    """China's trophic level index TLI(Σ) in a class worse than ``worse_than``.

    Levels are the classes beyond it; a class is left once TLI(Σ) is ``hysteresis`` points
    below its lower bound.
    """

    kind: Literal["tli"]
    worse_than: Literal["oligotrophic", "mesotrophic", "light_eutrophic",
                        "middle_eutrophic"] = "mesotrophic"
    hysteresis: Annotated[float, Field(ge=0)] = 2.0

    @property
    def params(self) -> tuple[str, ...]:
        return ("chl_a", "tp", "tn", "secchi", "cod_mn")

    @property
    def base_class(self) -> int:
        return TLI_CLASSES.index(self.worse_than)

    def _default_id(self) -> str:
        return f"tli-{self.worse_than}"

    def level_name(self, level: int, lang: str = "en") -> str:
        names = TLI_CLASSES_ZH if lang == "zh" else TLI_CLASSES
        return names[min(self.base_class + level, 5)] if level >= 1 else ""


class RateRule(_Rule):
    """Sudden change: a parameter rising (or falling) by ``factor`` (×) or ``delta`` (in its
    unit) within ``window_minutes``.

    The reference is the lowest (rise) or highest (fall) valid value in the window before
    the acquisition. It resolves when the change over the window is back under
    ``clear_factor`` / ``clear_delta`` (default: the firing ones).
    """

    kind: Literal["rate"]
    param: str
    factor: Annotated[float, Field(gt=1)] | None = None
    delta: Annotated[float, Field(gt=0)] | None = None
    window_minutes: Annotated[float, Field(gt=0)] = 30.0
    direction: Literal["rise", "fall", "both"] = "rise"
    min_value: Annotated[float, Field(ge=0)] = 0.0
    clear_factor: Annotated[float, Field(ge=1)] | None = None
    clear_delta: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _check(self) -> RateRule:
        _check_param(self.param)
        if (self.factor is None) == (self.delta is None):
            raise ValueError("give exactly one of 'factor' or 'delta'")
        if self.clear_factor is not None and (self.factor is None or self.clear_factor > self.factor):
            raise ValueError("'clear_factor' needs 'factor' and must not exceed it (hysteresis)")
        if self.clear_delta is not None and (self.delta is None or self.clear_delta > self.delta):
            raise ValueError("'clear_delta' needs 'delta' and must not exceed it (hysteresis)")
        return self

    def _default_id(self) -> str:
        size = f"x{self.factor:g}" if self.factor is not None else f"d{self.delta:g}"
        return f"{self.param}-{self.direction}-{size}-{self.window_minutes:g}min"


class ExtentRule(_Rule):
    """Too much water beyond a value: the mapped area (``area_above_m2``, needs the site's
    camera geometry) or fraction of the mapped water (``fraction_above``, 0–1) where
    ``param`` exceeds ``threshold``, from the acquisition's parameter maps.

    Resolves once the area (fraction) is back at or below ``clear`` (default: the limit).
    The site's maps keep the exceeded area of this ``threshold`` with every acquisition.
    """

    kind: Literal["extent"]
    param: str
    threshold: float
    area_above_m2: Annotated[float, Field(ge=0)] | None = None
    fraction_above: Annotated[float, Field(ge=0, le=1)] | None = None
    clear: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _check(self) -> ExtentRule:
        _check_param(self.param)
        if not PARAMETERS[self.param].optically_active:
            raise ValueError(f"{self.param!r} is not mapped (only optically active parameters are)")
        if (self.area_above_m2 is None) == (self.fraction_above is None):
            raise ValueError("give exactly one of 'area_above_m2' or 'fraction_above'")
        if self.clear is not None and self.clear > self.limit:
            raise ValueError("'clear' must not exceed the limit (hysteresis)")
        return self

    @property
    def measure(self) -> str:
        """``area`` [m²] or ``fraction`` [-]."""
        return "area" if self.area_above_m2 is not None else "fraction"

    @property
    def limit(self) -> float:
        return float(self.area_above_m2 if self.area_above_m2 is not None else self.fraction_above)  # type: ignore[arg-type]

    def _default_id(self) -> str:
        size = (f"{self.area_above_m2:g}m2" if self.area_above_m2 is not None
                else f"{100 * self.fraction_above:g}pct")  # type: ignore[operator]
        return f"{self.param}-extent-{self.threshold:g}-{size}"


class GapRule(_Rule):
    """No accepted acquisition for ``minutes`` (of daylight, by default).

    Or for ``missed`` acquisitions of the site's nominal cadence (its ``expected_interval``):
    the site turns that into minutes when the configuration is read.

    Evaluated on every stored record and by :func:`hsiwq.alerts.service.check_gaps`; with
    ``daylight_only`` the clock runs only while the sun is within ``max_sun_zenith_deg`` of
    the zenith at the site (nights are not gaps).
    """

    category: ClassVar[str] = "data"
    ordered: ClassVar[bool] = False

    kind: Literal["gap"]
    minutes: Annotated[float, Field(gt=0)] | None = None
    missed: Annotated[float, Field(gt=0)] | None = None
    daylight_only: bool = True
    max_sun_zenith_deg: Annotated[float, Field(gt=0, le=90)] = 70.0

    @model_validator(mode="after")
    def _check(self) -> GapRule:
        if self.minutes is None and self.missed is None:
            raise ValueError("a gap rule needs 'minutes' or 'missed' (acquisitions of the cadence)")
        return self

    def _default_id(self) -> str:
        return f"gap-{self.missed:g}missed" if self.missed is not None else f"gap-{self.minutes:g}min"


class SensorRule(_Rule):
    """Sensor trouble seen in ``for_count`` consecutive acquisitions.

    ``fault`` is ``rejects`` (rejected acquisitions, except reasons starting with one of
    ``ignore_reasons``), ``saturation`` (a "saturated" reject reason, or ``quantity`` above
    ``limit`` when given, e.g. ``quantity = "n_saturated"``, ``limit = 50`` pixels),
    ``dark_drift`` (``|quantity|`` above ``limit``, default quantity ``dark_drift_dn``, the
    dark level's departure from the calibration [DN]) or ``out_of_domain`` (``param``
    outside its model's domain). ``clear`` sets a hysteresis on ``limit``.
    """

    category: ClassVar[str] = "data"

    kind: Literal["sensor"]
    fault: Literal["rejects", "saturation", "dark_drift", "out_of_domain"]
    for_count: Annotated[int, Field(ge=1)] = 3
    ignore_reasons: list[str] = Field(default_factory=lambda: ["night", "sun too low"])
    quantity: str | None = None
    limit: float | None = None
    clear: float | None = None
    param: str | None = None

    @model_validator(mode="after")
    def _check(self) -> SensorRule:
        if self.fault == "dark_drift" and self.limit is None:
            raise ValueError("a dark_drift rule needs 'limit' [DN]")
        if self.fault == "out_of_domain":
            if self.param is None:
                raise ValueError("an out_of_domain rule needs 'param'")
            _check_param(self.param)
        if self.quantity is not None and self.limit is None:
            raise ValueError("'quantity' needs 'limit'")
        if self.clear is not None and self.limit is not None and self.clear > self.limit:
            raise ValueError("'clear' must not exceed 'limit' (hysteresis)")
        return self

    @property
    def watched_quantity(self) -> str | None:
        if self.quantity:
            return self.quantity
        return "dark_drift_dn" if self.fault == "dark_drift" else None

    def _default_id(self) -> str:
        return f"sensor-{self.fault}" + (f"-{self.param}" if self.param else "")


Rule = Annotated[Union[ThresholdRule, WhoCyanoRule, Gb3838Rule, TliRule, RateRule, ExtentRule,
                       GapRule, SensorRule], Field(discriminator="kind")]
RULE_KINDS = ("threshold", "who_cyano", "gb3838", "tli", "rate", "extent", "gap", "sensor")
