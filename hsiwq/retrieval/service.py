"""What the pipeline asks of retrieval: every parameter of a region's spectrum.

The seam between the processing chain and the models: for each parameter, the region's
model in service in the registry (:mod:`hsiwq.models.registry`) when there is one — with its
68 % interval and out-of-domain flag — else the default (:mod:`.defaults`: the global model
trained on real water, with its interval and flag, or the region's choice of algorithm). The label recorded with every value says which
(``<region>/<version>:<candidate>`` or the default algorithm).

A model that cannot be loaded (changed file, foreign types) is never used: the error is
logged and that parameter falls back to its default, so processing goes on.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from ..workspace import Workspace
from .defaults import DEFAULT_ALGORITHMS, Retrieval, retrieve_defaults
from .regions import load_region

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], tuple[tuple, dict, dict]] = {}


def service_models(region: str, workspace: Workspace) -> tuple[dict, dict[str, str]]:
    """The region's models in service, verified and loaded (cached until promotion changes).

    Returns
    -------
    models : dict
        Parameter → (version, :class:`hsiwq.models.regional.ParameterModel`).
    errors : dict of str to str
        Parameter → why its model in service could not be loaded.
    """
    from ..models.registry import ModelRegistry, RegistryError

    registry = ModelRegistry(workspace.registry_dir)
    if not (registry.root / region).is_dir():
        return {}, {}
    key = (str(registry.root), region)
    signature = registry.service_signature(region)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] == signature:
            return hit[1], hit[2]
    models, errors = {}, {}
    for pid, version in registry.in_service(region).items():
        try:
            models[pid] = (version, registry.load(region, pid, version))
        except RegistryError as exc:
            errors[pid] = str(exc)
    with _LOCK:
        _CACHE[key] = (signature, models, errors)
    return models, errors


def retrieve_region(rrs: np.ndarray, wavelength_nm: np.ndarray, *, region: str,
                    workspace: Workspace, sun_zenith_deg: float = 30.0) -> Retrieval:
    """Parameters of one or more spectra of a region.

    Parameters
    ----------
    rrs : ndarray
        Spectra, shape (n, n_wavelength) or (n_wavelength,) [sr-1].
    wavelength_nm : ndarray
        Band centres [nm].
    region : str
        Region id of the site (chooses models, SIOPs and default algorithms).
    workspace : Workspace
        Where the registry and regional calibration files live.
    sun_zenith_deg : float
        Solar zenith angle [deg].

    Returns
    -------
    Retrieval
        Every parameter with a model or a default; ``lo``/``hi``/``ood`` for those from a
        model.
    """
    spectra = np.atleast_2d(np.asarray(rrs, dtype=float))
    wl = np.asarray(wavelength_nm, dtype=float)
    settings = load_region(region, workspace.regions_dir)
    models, errors = service_models(region, workspace)
    for pid, err in errors.items():
        log.error("model in service for %s/%s not used (falling back to the default): %s", region, pid, err)
    return retrieve_with_models(models, region, settings, spectra, wl, sun_zenith_deg)


def retrieve_with_models(models: dict, region: str, settings, spectra: np.ndarray, wl: np.ndarray,
                         sun_zenith: float) -> Retrieval:
    """Models where given (parameter → (version, model)), the region's defaults elsewhere.

    ``settings`` is the region's :class:`~hsiwq.retrieval.regions.RegionSettings` (SIOPs,
    default algorithms); ``spectra`` (n, n_wavelength) [sr-1] on ``wl`` [nm]; ``sun_zenith``
    [deg].
    """
    need = [p for p in DEFAULT_ALGORITHMS if p not in models]
    base = retrieve_defaults(spectra, wl, siop=settings.siop, siop_name=settings.siop_name,
                             sun_zenith_deg=sun_zenith, choice=settings.algorithms, parameters=need)
    if not models:
        return base
    from ..models.predict import predict_models

    pred = predict_models(models, spectra, wl, region)
    return Retrieval(dict(base.values) | pred.values, dict(base.algorithms) | pred.labels,
                     dict(base.lo) | pred.lo, dict(base.hi) | pred.hi, dict(base.ood) | pred.ood, pred.owt)


def is_calibrated(label: str, region: str) -> bool:
    """Whether a value's model label names a model calibrated for ``region``.

    Regional models are labelled ``<region>/<version>:<candidate>``; everything else (the
    global model ``global/<version>``, a published algorithm, the inversion with generic or
    regional SIOPs) was not fitted to this region's lab samples: its values are indicative,
    and the store, reports and alerts say so.
    """
    return str(label).startswith(f"{region}/v")


def uncalibrated(algorithms: dict[str, str], region: str) -> list[str]:
    """The parameters of a retrieval whose values come from a model not calibrated for
    ``region`` (see :func:`is_calibrated`), in catalogue order."""
    from ..params import PARAMETER_IDS

    return [p for p in PARAMETER_IDS if p in algorithms and not is_calibrated(algorithms[p], region)]

