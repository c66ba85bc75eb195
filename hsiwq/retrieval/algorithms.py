"""Retrieval algorithms as plugins: the interface and the built-in catalogue.

An **algorithm** turns Rrs spectra into one or more parameters of the catalogue
(:mod:`hsiwq.params`). Third
parties add algorithms through the entry-point group ``hsiwq.algorithms`` (the built-ins are
registered the same way in hsiwq's own ``pyproject.toml``)::

    [project.entry-points."hsiwq.algorithms"]
    my-chl = "mypackage.algorithms:MY_CHL"

The entry point names an object with

- ``name`` (str): unique id, recorded with every value it produces;
- ``parameters`` (tuple of str): the parameter ids it returns;
- ``reference`` (str): the publication;
- ``__call__(rrs, wavelength_nm, context)`` returning a mapping from parameter id to an
  array of shape (n,) in the catalogue's units (NaN where it does not apply), for ``rrs`` of
  shape (n, n_wavelength) [sr-1] on increasing band centres ``wavelength_nm`` [nm];
  ``context`` is a :class:`RetrievalContext` (the region's SIOPs, the sun zenith angle);
  it may add ``<parameter>_lo`` / ``_hi`` (68 % interval) and ``<parameter>_ood`` (1 = out
  of its domain) for each parameter.

:func:`band_algorithm` wraps a plain function ``f(rrs, wavelength_nm) -> ndarray`` into one.
A plugin that fails to load, or is not an algorithm, is skipped with a warning; one that
raises at run time gives NaN with a warning: neither stops the pipeline.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import numpy as np

from ..bio_optics.iops import IOPModel
from ..params import PARAMETERS
from . import qaa
from .inversion import GENERIC_INLAND, invert_spectra
from .published import BAND_FUNCTIONS

#: The entry-point group of retrieval algorithms.
ENTRY_POINT_GROUP = "hsiwq.algorithms"


class AlgorithmPluginWarning(UserWarning):
    """A retrieval algorithm plugin could not be loaded or failed at run time."""


@dataclass(frozen=True)
class RetrievalContext:
    """What an algorithm may need besides the spectra.

    Attributes
    ----------
    siop : IOPModel
        The region's specific IOPs (generic inland ones when it has none).
    siop_name : str
        Their name (the region id or ``generic-inland``).
    sun_zenith_deg : float
        Solar zenith angle [deg].
    """

    siop: IOPModel = GENERIC_INLAND
    siop_name: str = "generic-inland"
    sun_zenith_deg: float = 30.0


@dataclass(frozen=True)
class Algorithm:
    """A retrieval algorithm (see the module docstring for the interface).

    Attributes
    ----------
    name : str
        Unique id.
    parameters : tuple of str
        Parameter ids returned.
    function : callable
        ``function(rrs, wavelength_nm, context) -> {parameter id: ndarray}``.
    reference : str
        The publication.
    label : callable, optional
        ``label(context, parameter) -> str``, what is recorded with a value (default ``name``).
    """

    name: str
    parameters: tuple[str, ...]
    function: Callable[[np.ndarray, np.ndarray, RetrievalContext], Mapping[str, np.ndarray]]
    reference: str
    label: Callable[[RetrievalContext, str], str] | None = field(default=None, compare=False)

    def __call__(self, rrs: np.ndarray, wavelength_nm: np.ndarray,
                 context: RetrievalContext | None = None) -> dict[str, np.ndarray]:
        spectra = np.atleast_2d(np.asarray(rrs, dtype=float))
        out = self.function(spectra, np.asarray(wavelength_nm, dtype=float), context or RetrievalContext())
        return {k: np.asarray(v, dtype=float).reshape(spectra.shape[0]) for k, v in out.items()}

    def label_for(self, context: RetrievalContext, parameter: str) -> str:
        """What is recorded with a value of ``parameter``."""
        return self.label(context, parameter) if self.label else self.name


def band_algorithm(name: str, parameter: str, func: Callable[[np.ndarray, np.ndarray], np.ndarray],
                   reference: str) -> Algorithm:
    """An :class:`Algorithm` from ``func(rrs, wavelength_nm) -> ndarray`` of one parameter."""
    return Algorithm(name, (parameter,), lambda rrs, wl, ctx: {parameter: func(rrs, wl)}, reference)


def _saa(rrs: np.ndarray, wl: np.ndarray, ctx: RetrievalContext) -> dict[str, np.ndarray]:
    inv = invert_spectra(rrs, wl, ctx.siop, sun_zenith_deg=ctx.sun_zenith_deg)
    return {"chl_a": inv.chl_a, "phycocyanin": inv.phycocyanin, "tss": inv.tss,
            "cdom": inv.cdom, "secchi": inv.secchi}


def _saa_label(ctx: RetrievalContext, pid: str) -> str:
    return f"lee2015:{ctx.siop_name}" if pid == "secchi" else f"saa-lee1999:{ctx.siop_name}"


def _secchi_qaa(rrs: np.ndarray, wl: np.ndarray, ctx: RetrievalContext) -> dict[str, np.ndarray]:
    return {"secchi": qaa.secchi_qaa_lee2015(rrs, wl, ctx.sun_zenith_deg)}


SAA = Algorithm("saa-lee1999", ("chl_a", "phycocyanin", "tss", "cdom", "secchi"), _saa,
                "Lee et al. (1999) Appl. Opt. 38, 3831; Brando et al. (2012) Appl. Opt. 51, 2808; "
                "Secchi depth after Lee et al. (2015) Remote Sens. Environ. 169, 139",
                label=_saa_label)


def _published(name: str) -> Algorithm:
    """The catalogue entry of a band algorithm of :data:`~.published.BAND_FUNCTIONS`."""
    f = BAND_FUNCTIONS[name]
    return band_algorithm(f.name, f.parameter, f.function, f.reference)


CHL_BLEND = _published("chl-owt-blend")
CHL_NDCI = _published("ndci-mishra2012")
CHL_GILERSON2 = _published("gilerson2010-2band")
CHL_GILERSON3 = _published("gilerson2010-3band")
CHL_GONS = _published("gons2005")
CHL_OC4 = _published("oc4-oreilly2000")
PC_SIMIS2005 = _published("simis2005")
PC_SIMIS2007 = _published("simis2007")
TSS_NECHAD = _published("nechad2010")
TURBIDITY_DOGLIOTTI = _published("dogliotti2015")
TURBIDITY_DOGLIOTTI_NIR = _published("dogliotti2015-nir")
CDOM_FICEK = _published("ficek2011")
CDOM_QAA = _published("qaa-cdom")
SECCHI_QAA = Algorithm("qaa-lee2015", ("secchi",), _secchi_qaa,
                       "Lee et al. (2015) Remote Sens. Environ. 169, 139 with QAA v6 IOPs")


def _global(rrs: np.ndarray, wl: np.ndarray, ctx: RetrievalContext) -> dict[str, np.ndarray]:
    from ..models.global_bundle import bundled_global_model

    out: dict[str, np.ndarray] = {}
    for pid, res in bundled_global_model().predict(rrs, wl).items():
        out[pid] = res["value"]
        out[f"{pid}_lo"], out[f"{pid}_hi"], out[f"{pid}_ood"] = res["lo"], res["hi"], res["ood"]
    return out


def _global_label(ctx: RetrievalContext, pid: str) -> str:
    from ..models.global_bundle import bundled_global_model

    return f"global/{bundled_global_model().version_}"


GLOBAL = Algorithm("global-gloria", ("chl_a", "tss", "cdom", "secchi"), _global,
                   "hsiwq's global model trained on GLORIA (Lehmann et al. 2023, Sci. Data 10, 100; "
                   "CC-BY 4.0), after Pahlevan et al. (2020) Remote Sens. Environ. 240, 111604",
                   label=_global_label)

#: The built-in algorithms (also registered as entry points of the ``hsiwq`` distribution).
BUILTIN: dict[str, Algorithm] = {a.name: a for a in (
    SAA, CHL_BLEND, CHL_NDCI, CHL_GILERSON2, CHL_GILERSON3, CHL_GONS, CHL_OC4, PC_SIMIS2005,
    PC_SIMIS2007, TSS_NECHAD, TURBIDITY_DOGLIOTTI, TURBIDITY_DOGLIOTTI_NIR, CDOM_FICEK, CDOM_QAA,
    SECCHI_QAA, GLOBAL)}


def _check(obj: object, ep_name: str) -> Algorithm | object:
    for attr in ("name", "parameters", "reference"):
        if not hasattr(obj, attr):
            raise TypeError(f"has no attribute {attr!r} (see hsiwq.retrieval.algorithms)")
    if not callable(obj):
        raise TypeError("is not callable as obj(rrs, wavelength_nm, context)")
    unknown = set(obj.parameters) - set(PARAMETERS)  # type: ignore[attr-defined]
    if unknown:
        raise ValueError(f"returns unknown parameter ids {sorted(unknown)}")
    return obj


def load_algorithms() -> dict[str, Algorithm]:
    """Every retrieval algorithm: the built-ins and the ``hsiwq.algorithms`` plugins.

    A plugin that cannot be imported, is not an algorithm, or reuses the name of another
    is skipped with an :class:`AlgorithmPluginWarning`. The plugins are looked up once per
    import path (``sys.path``): scanning the installed distributions costs ≈ 20 ms, which
    every acquisition would otherwise pay twice.

    Returns
    -------
    dict of str to Algorithm
        By algorithm name.
    """
    return dict(_load_algorithms(tuple(sys.path)))


@functools.lru_cache(maxsize=8)
def _load_algorithms(path: tuple[str, ...]) -> dict[str, Algorithm]:
    found: dict[str, Algorithm] = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = _check(ep.load(), ep.name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must never break retrieval
            warnings.warn(f"hsiwq: algorithm plugin {ep.name!r} ({ep.value}) skipped: "
                          f"{type(exc).__name__}: {exc}", AlgorithmPluginWarning, stacklevel=2)
            continue
        name = str(obj.name)  # type: ignore[attr-defined]
        if name in found and found[name] is not obj:
            if BUILTIN.get(name) is obj:
                continue
            warnings.warn(f"hsiwq: algorithm plugin {ep.name!r} ({ep.value}) skipped: the name "
                          f"{name!r} is already taken", AlgorithmPluginWarning, stacklevel=2)
            continue
        found[name] = obj  # type: ignore[assignment]
    return found


def run_algorithm(algorithm: Algorithm, rrs: np.ndarray, wavelength_nm: np.ndarray,
                  context: RetrievalContext) -> dict[str, np.ndarray]:
    """Run one algorithm; a failure gives NaN for its parameters with a warning.

    Besides each parameter, an algorithm may return ``<parameter>_lo``, ``<parameter>_hi``
    (68 % interval bounds) and ``<parameter>_ood`` (1 = spectrum outside its domain); they
    are passed on.
    """
    n = np.atleast_2d(rrs).shape[0]
    try:
        out = algorithm(rrs, wavelength_nm, context)
        extra = {f"{p}_{k}" for p in algorithm.parameters for k in ("lo", "hi", "ood")}
        return {key: np.asarray(out[key], dtype=float).reshape(n)
                for key in (*algorithm.parameters, *sorted(extra & set(out)))}
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"hsiwq: algorithm {algorithm.name!r} failed: {type(exc).__name__}: {exc}",
                      AlgorithmPluginWarning, stacklevel=2)
        return {pid: np.full(n, np.nan) for pid in algorithm.parameters}
