"""Which model files hsiwq loads: skops files holding only trusted types.

A model file is never unpickled: skops lists the object types a file holds, and a file with a
type outside :data:`TRUSTED_TYPES` (a foreign or crafted file) is refused before anything in
it runs. The regional registry (:mod:`.registry`) and the bundled global model
(:mod:`.global_model`) both load through :func:`check_trusted`.
"""

from __future__ import annotations

import json
import os
import zipfile

import skops.io as sio

from ..errors import HsiwqError

#: Types (beyond skops' defaults) a registered model may contain.
TRUSTED_TYPES: frozenset[str] = frozenset({
    "hsiwq.bio_optics.iops.IOPModel",
    "hsiwq.models.candidates.ComponentSelectedPLS",
    "hsiwq.models.candidates.MeanRegressor",
    "hsiwq.models.candidates.PhysicsColumn",
    "hsiwq.models.candidates.StableScaler",
    "hsiwq.models.candidates.SubsampledRegressor",
    "hsiwq.models.candidates.bounded_lbfgs",
    "hsiwq.models.domain.DomainModel",
    "hsiwq.models.features.SpectralFeatures",
    "hsiwq.models.gp.GaussianProcess",
    "hsiwq.models.global_model.GlobalModel",
    "hsiwq.models.global_model._Ensemble",
    "hsiwq.models.owt.OpticalWaterTypes",
    "hsiwq.models.physics.NoiseModel",
    "hsiwq.models.physics.RegionalPhysics",
    "hsiwq.models.pooled.PooledBoosting",
    "hsiwq.models.posterior.PosteriorCorrection",
    "hsiwq.models.regional.ParameterModel",
    "hsiwq.models.regional.RegionStages",
    "hsiwq.models.uncertainty.ConformalInterval",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.gaussian_process.kernels.ConstantKernel",
    "sklearn.gaussian_process.kernels.DotProduct",
    "sklearn.gaussian_process.kernels.Product",
    "sklearn.gaussian_process.kernels.RBF",
    "sklearn.gaussian_process.kernels.Sum",
    "sklearn.gaussian_process.kernels.WhiteKernel",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
})


class RegistryError(HsiwqError):
    """A model cannot be registered, found, promoted or loaded."""


def check_trusted(path: str | os.PathLike[str]) -> list[str]:
    """The non-default types of a skops file, after checking each is trusted.

    Raises
    ------
    RegistryError
        When the file is not a skops file or holds an untrusted type.
    """
    try:
        found = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise RegistryError(path, f"not a skops model file ({type(exc).__name__}); hsiwq loads "
                                  "only skops files it registered") from None
    foreign = sorted(set(found) - TRUSTED_TYPES)
    if foreign:
        raise RegistryError(path, f"holds types outside hsiwq's trusted list ({', '.join(foreign)}): "
                                  "a foreign or crafted file; refusing to load it")
    return list(found)
