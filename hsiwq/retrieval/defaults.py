"""The out-of-the-box retrieval: what a parameter gets while its region has no model.

By default chlorophyll-a, TSS, CDOM and the Secchi depth come from the global model trained
on real water (``global-gloria``: :mod:`hsiwq.models.global_model`, with its 68 % interval
and out-of-domain flag), turbidity from Dogliotti et al. (2015), and phycocyanin — which the
real training data do not measure — from the semi-analytical inversion (:mod:`.inversion`,
with the region's SIOPs when it has them). Any registered algorithm (:mod:`.algorithms`,
including ``hsiwq.algorithms`` plugins) can replace one per region (``"algorithms"`` in the
region's file), e.g. ``"saa-lee1999"`` for the inversion with the region's measured SIOPs.
The five parameters that are not optically active have no honest default: only a regional
model (:mod:`hsiwq.models`) returns them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..bio_optics.iops import IOPModel
from ..errors import ConfigError
from ..params import PARAMETERS
from .algorithms import RetrievalContext, load_algorithms, run_algorithm
from .inversion import GENERIC_INLAND

#: The default algorithm of each optically active parameter.
DEFAULT_ALGORITHMS: dict[str, str] = {
    "chl_a": "global-gloria", "phycocyanin": "saa-lee1999", "tss": "global-gloria",
    "turbidity": "dogliotti2015", "secchi": "global-gloria", "cdom": "global-gloria",
}


@dataclass(frozen=True)
class Retrieval:
    """Results per parameter id, each an array of shape (n,).

    Attributes
    ----------
    values : dict of str to ndarray
        Estimates [catalogue units].
    algorithms : dict of str to str
        The algorithm or model version behind each parameter.
    lo, hi : dict of str to ndarray
        Bounds of the 68 % interval, where known [catalogue units].
    ood : dict of str to ndarray
        1 where the spectrum lies outside the model's domain, 0 inside, where known.
    owt : ndarray or None
        Optical water type of each spectrum (name), where a regional model gives one.
    """

    values: dict[str, np.ndarray]
    algorithms: dict[str, str] = field(default_factory=dict)
    lo: dict[str, np.ndarray] = field(default_factory=dict)
    hi: dict[str, np.ndarray] = field(default_factory=dict)
    ood: dict[str, np.ndarray] = field(default_factory=dict)
    owt: np.ndarray | None = None


def retrieve_defaults(rrs: np.ndarray, wavelength_nm: np.ndarray, *,
                      siop: IOPModel = GENERIC_INLAND, siop_name: str = "generic-inland",
                      sun_zenith_deg: float = 30.0,
                      choice: Mapping[str, str] | None = None,
                      parameters: Sequence[str] | None = None) -> Retrieval:
    """The default parameters of each spectrum.

    Parameters
    ----------
    rrs : ndarray
        Spectra, shape (n, n_wavelength) or (n_wavelength,) [sr-1].
    wavelength_nm : ndarray
        Band centres [nm].
    siop : IOPModel
        The region's specific IOPs for the inversion.
    siop_name : str
        Their name, recorded with the values.
    sun_zenith_deg : float
        Solar zenith angle [deg] (for Kd and the Secchi depth).
    choice : mapping of str to str, optional
        Algorithm name per parameter, overriding :data:`DEFAULT_ALGORITHMS`.
    parameters : sequence of str, optional
        Only these parameters (default: every one that has a default).

    Returns
    -------
    Retrieval
        Values in the catalogue's units (NaN where an algorithm does not apply).

    Raises
    ------
    ConfigError
        When ``choice`` names an unknown algorithm or one that does not return its parameter.
    """
    spectra = np.atleast_2d(np.asarray(rrs, dtype=float))
    wl = np.asarray(wavelength_nm, dtype=float)
    chosen = dict(DEFAULT_ALGORITHMS)
    chosen.update(choice or {})
    wanted = [p for p in (parameters if parameters is not None else PARAMETERS) if p in chosen]
    if not wanted:
        return Retrieval({})
    registry = load_algorithms()
    ctx = RetrievalContext(siop=siop, siop_name=siop_name, sun_zenith_deg=sun_zenith_deg)
    by_algorithm: dict[str, list[str]] = {}
    for pid in wanted:
        name = chosen[pid]
        alg = registry.get(name)
        if alg is None:
            raise ConfigError(name, f"unknown retrieval algorithm for {pid}; known: {', '.join(sorted(registry))}")
        if pid not in alg.parameters:
            raise ConfigError(name, f"does not return {pid} (it returns {', '.join(alg.parameters)})")
        by_algorithm.setdefault(name, []).append(pid)
    values, algorithms, lo, hi, ood = {}, {}, {}, {}, {}
    for name, pids in by_algorithm.items():
        alg = registry[name]
        out = run_algorithm(alg, spectra, wl, ctx)
        for pid in pids:
            values[pid] = out[pid]
            for key, dest in (("lo", lo), ("hi", hi), ("ood", ood)):
                if f"{pid}_{key}" in out:
                    dest[pid] = out[f"{pid}_{key}"]
            label = getattr(alg, "label_for", None)
            algorithms[pid] = label(ctx, pid) if callable(label) else str(alg.name)
    return Retrieval(values, algorithms, lo, hi, ood)
