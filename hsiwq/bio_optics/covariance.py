"""Regional covariance of the non-optical parameters (and turbidity) with the optical ones.

COD_Mn, COD, TN, TP and NH₃-N do not change the colour of water; a monitor can only estimate
them through their *regional* covariance with chlorophyll-a, suspended solids and CDOM. The
relations here are **synthetic but plausible**: log-linear (power-law) relations with
lognormal scatter, whose shapes follow what is generally observed and whose levels sit in
the usual ranges of each water type, e.g. in eutrophic Lake Taihu total phosphorus grows
with both algal biomass and resuspended sediment and COD_Mn with algal and dissolved organic
matter; in sediment-laden rivers TP is mostly particle-bound and follows TSS; COD ≈ 3–5 ×
COD_Mn. They are **not** fitted to any data set; they exist so that the simulator produces
consistent ground truth for the calibration and alerting parts of the pipeline.

Each relation is ln y = ln c + Σ_k b_k·ln x_k + σ·z, z ~ N(0, 1), evaluated in the order
given, so a later one may use an earlier result (COD from COD_Mn, NH₃-N from TN).
Turbidity is k_tss·TSS + k_chl·Chl with lognormal scatter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

#: Parameters produced by :func:`nonoptical_from_optical`, in evaluation order.
NONOPTICAL_IDS = ("cod_mn", "cod", "tn", "tp", "nh3_n")


@dataclass(frozen=True)
class PowerLaw:
    """One log-linear relation y = c·Π x_k^b_k·exp(σ·z).

    Attributes
    ----------
    coefficient : float
        c [unit of y].
    exponents : mapping of str to float
        b_k per predictor id (``chl_a``, ``tss``, ``cdom`` or an earlier output) [-].
    sigma : float
        Standard deviation of the lognormal scatter (natural log) [-].
    """

    coefficient: float
    exponents: Mapping[str, float]
    sigma: float


@dataclass(frozen=True)
class CovarianceModel:
    """Synthetic regional covariance model of one water type.

    Attributes
    ----------
    name : str
        Water type.
    relations : mapping of str to PowerLaw
        Relation per non-optical parameter id, evaluated in :data:`NONOPTICAL_IDS` order.
    turbidity_per_tss : float
        Turbidity per unit TSS [NTU per mg/L].
    turbidity_per_chl : float
        Turbidity per unit chlorophyll-a [NTU per µg/L].
    turbidity_sigma : float
        Lognormal scatter of turbidity [-].
    """

    name: str
    relations: Mapping[str, PowerLaw]
    turbidity_per_tss: float
    turbidity_per_chl: float
    turbidity_sigma: float = 0.08
    description: str = field(default="", compare=False)


COVARIANCE_MODELS: dict[str, CovarianceModel] = {
    "clear_reservoir": CovarianceModel(
        "clear_reservoir",
        {
            "cod_mn": PowerLaw(1.5, {"chl_a": 0.15, "cdom": 0.35, "tss": 0.03}, 0.12),
            "cod": PowerLaw(5.0, {"cod_mn": 0.9}, 0.15),
            "tn": PowerLaw(0.40, {"chl_a": 0.20, "tss": 0.10}, 0.15),
            "tp": PowerLaw(0.006, {"chl_a": 0.40, "tss": 0.30}, 0.15),
            "nh3_n": PowerLaw(0.12, {"tn": 0.8}, 0.25),
        },
        turbidity_per_tss=0.9, turbidity_per_chl=0.05,
        description="oligo-/mesotrophic drinking-water reservoir (GB 3838 class I–II)",
    ),
    "eutrophic_lake": CovarianceModel(
        "eutrophic_lake",
        {
            "cod_mn": PowerLaw(2.2, {"chl_a": 0.18, "tss": 0.05, "cdom": 0.30}, 0.12),
            "cod": PowerLaw(3.6, {"cod_mn": 0.95}, 0.12),
            "tn": PowerLaw(0.55, {"chl_a": 0.22, "tss": 0.15}, 0.15),
            "tp": PowerLaw(0.010, {"chl_a": 0.38, "tss": 0.22}, 0.15),
            "nh3_n": PowerLaw(0.30, {"tn": 0.8, "chl_a": -0.12}, 0.25),
        },
        turbidity_per_tss=0.75, turbidity_per_chl=0.04,
        description="shallow eutrophic lake with cyanobacteria, Taihu-like (class IV–V)",
    ),
    "sediment_river": CovarianceModel(
        "sediment_river",
        {
            "cod_mn": PowerLaw(1.4, {"cdom": 0.5, "tss": 0.12, "chl_a": 0.10}, 0.12),
            "cod": PowerLaw(3.8, {"cod_mn": 0.95}, 0.12),
            "tn": PowerLaw(0.9, {"tss": 0.08, "chl_a": 0.05}, 0.12),
            "tp": PowerLaw(0.0055, {"tss": 0.55, "chl_a": 0.10}, 0.15),
            "nh3_n": PowerLaw(0.16, {"tn": 0.8}, 0.25),
        },
        turbidity_per_tss=0.65, turbidity_per_chl=0.05,
        description="large sediment-laden river, lower Yangtze-like (class II–III)",
    ),
}


def _model(model: CovarianceModel | str) -> CovarianceModel:
    if isinstance(model, CovarianceModel):
        return model
    try:
        return COVARIANCE_MODELS[model]
    except KeyError:
        raise ValueError(f"unknown water type {model!r}; "
                         f"known: {', '.join(COVARIANCE_MODELS)}") from None


def nonoptical_from_optical(model: CovarianceModel | str, chl: ArrayLike, tss: ArrayLike,
                            cdom440: ArrayLike,
                            noise: Mapping[str, ArrayLike] | None = None,
                            ) -> dict[str, np.ndarray]:
    """COD_Mn, COD, TN, TP and NH₃-N from the optically active constituents.

    Parameters
    ----------
    model : CovarianceModel or str
        Model or water-type name (``clear_reservoir``, ``eutrophic_lake``,
        ``sediment_river``).
    chl : array_like
        Chlorophyll-a [µg/L] (> 0).
    tss : array_like
        Total suspended solids [mg/L] (> 0).
    cdom440 : array_like
        CDOM absorption at 440 nm [1/m] (> 0).
    noise : mapping of str to array_like, optional
        Standard-normal deviates z per parameter id (broadcastable to the inputs); missing
        ids (or ``None``) give the median relation.

    Returns
    -------
    dict of str to ndarray
        ``cod_mn`` [mg/L], ``cod`` [mg/L], ``tn`` [mg/L], ``tp`` [mg/L], ``nh3_n`` [mg/L].

    References
    ----------
    .. [1] GB 3838-2002, Environmental quality standards for surface water (class limits that
       bound the chosen levels).
    .. [2] Synthetic relations of this module; see the module docstring.
    """
    m = _model(model)
    logs = {"chl_a": np.log(np.asarray(chl, dtype=float)),
            "tss": np.log(np.asarray(tss, dtype=float)),
            "cdom": np.log(np.asarray(cdom440, dtype=float))}
    out: dict[str, np.ndarray] = {}
    for pid in NONOPTICAL_IDS:
        rel = m.relations[pid]
        ln_y = np.log(rel.coefficient) + sum(b * logs[k] for k, b in rel.exponents.items())
        if noise is not None and pid in noise:
            ln_y = ln_y + rel.sigma * np.asarray(noise[pid], dtype=float)
        logs[pid] = np.asarray(ln_y, dtype=float)
        out[pid] = np.exp(logs[pid])
    return out


def turbidity_from_tss(model: CovarianceModel | str, tss: ArrayLike, chl: ArrayLike,
                       noise: ArrayLike | None = None) -> np.ndarray:
    """Turbidity from suspended solids and chlorophyll-a.

    turbidity = (k_tss·TSS + k_chl·Chl)·exp(σ·z).

    Parameters
    ----------
    model : CovarianceModel or str
        Model or water-type name.
    tss : array_like
        Total suspended solids [mg/L].
    chl : array_like
        Chlorophyll-a [µg/L].
    noise : array_like, optional
        Standard-normal deviates z.

    Returns
    -------
    ndarray
        Turbidity [NTU].

    References
    ----------
    .. [1] Synthetic relation (NTU/TSS ratios of 0.6–0.9 are typical of mineral and mixed
       suspensions); see the module docstring.
    """
    m = _model(model)
    t = (m.turbidity_per_tss * np.asarray(tss, dtype=float)
         + m.turbidity_per_chl * np.asarray(chl, dtype=float))
    if noise is not None:
        t = t * np.exp(m.turbidity_sigma * np.asarray(noise, dtype=float))
    return t
