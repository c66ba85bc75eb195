"""The parameter catalogue (docs/contracts.md §1): ids, names, units, ranges, class limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    """One water-quality parameter.

    Attributes
    ----------
    id : str
        Stable identifier used in files, the store and the CLI.
    name : str
        Human-readable name.
    unit : str
        Unit of every value of this parameter.
    valid_range : tuple of float
        Plausible range of values in inland waters [unit].
    optically_active : bool
        Whether the parameter changes the water's colour; the others are estimated only
        through their regional covariance with optical ones (lower confidence).
    gb3838_limits : tuple of float or None
        GB 3838-2002 Table 1 upper limits of classes I–V [unit], or None.
    """

    id: str
    name: str
    unit: str
    valid_range: tuple[float, float]
    optically_active: bool
    gb3838_limits: tuple[float, ...] | None = None


PARAMETERS: dict[str, Parameter] = {
    p.id: p
    for p in (
        Parameter("chl_a", "chlorophyll-a", "µg/L", (0.1, 1000.0), True),
        Parameter("phycocyanin", "phycocyanin", "µg/L", (0.1, 1000.0), True),
        Parameter("tss", "total suspended solids", "mg/L", (0.1, 2000.0), True),
        Parameter("turbidity", "turbidity", "NTU", (0.1, 2000.0), True),
        Parameter("secchi", "transparency (Secchi depth)", "m", (0.02, 30.0), True),
        Parameter("cdom", "CDOM absorption at 440 nm", "1/m", (0.01, 30.0), True),
        Parameter("cod_mn", "permanganate index (COD_Mn)", "mg/L", (0.2, 50.0), False,
                  (2.0, 4.0, 6.0, 10.0, 15.0)),
        Parameter("cod", "chemical oxygen demand", "mg/L", (1.0, 200.0), False,
                  (15.0, 15.0, 20.0, 30.0, 40.0)),
        Parameter("tn", "total nitrogen", "mg/L", (0.05, 30.0), False,
                  (0.2, 0.5, 1.0, 1.5, 2.0)),
        Parameter("tp", "total phosphorus", "mg/L", (0.002, 5.0), False,
                  (0.01, 0.025, 0.05, 0.1, 0.2)),
        Parameter("nh3_n", "ammonia nitrogen", "mg/L", (0.01, 20.0), False,
                  (0.15, 0.5, 1.0, 1.5, 2.0)),
    )
}

#: Parameter ids in catalogue order.
PARAMETER_IDS: tuple[str, ...] = tuple(PARAMETERS)

#: GB 3838-2002 total phosphorus limits for rivers (the catalogue holds the lake limits).
GB3838_TP_RIVER: tuple[float, ...] = (0.02, 0.1, 0.2, 0.3, 0.4)
