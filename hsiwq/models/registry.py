"""The model registry: versioned regional models, in a safe format, promoted and rolled back.

Layout under the workspace's ``registry/`` folder::

    <region>/<parameter>/<version>.skops   the fitted ParameterModel (skops, never pickle)
    <region>/<parameter>/<version>.json    its metadata (below)
    <region>/<parameter>/service.json      {"version": in service or null, "history": [...]}
    <region>/audit.jsonl                   one line per registration, promotion, rollback

A calibration registers all its parameters under one version (``v1``, ``v2``, … per
region). The metadata hold the SHA-256 of the training data and of the model file, the
cross-validated metrics (MdSA, SSPB, R², RMSE) of the chosen and of every candidate, the
wavelength range, the regional SIOPs, library versions, time and author.

Loading a model is refused, with a :class:`RegistryError` saying why, when the file's
SHA-256 differs from the one recorded at registration (changed after registration), when
it holds object types outside hsiwq's trusted list (skops' check: a foreign or crafted file
could otherwise run code), or when it is not a skops file at all.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import platform
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version as dist_version
from pathlib import Path

import numpy as np
import skops.io as sio

from ..errors import HsiwqError
from ..params import PARAMETERS
from .regional import ParameterModel

#: Types (beyond skops' defaults) a registered model may contain.
TRUSTED_TYPES: frozenset[str] = frozenset({
    "hsiwq.bio_optics.iops.IOPModel",
    "hsiwq.models.candidates.ComponentSelectedPLS",
    "hsiwq.models.candidates.MeanRegressor",
    "hsiwq.models.candidates.PhysicsColumn",
    "hsiwq.models.candidates.SubsampledRegressor",
    "hsiwq.models.candidates.bounded_lbfgs",
    "hsiwq.models.domain.DomainModel",
    "hsiwq.models.features.SpectralFeatures",
    "hsiwq.models.global_model.GlobalModel",
    "hsiwq.models.global_model._Ensemble",
    "hsiwq.models.owt.OpticalWaterTypes",
    "hsiwq.models.physics.NoiseModel",
    "hsiwq.models.physics.RegionalPhysics",
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
_VERSION = re.compile(r"^v(\d+)$")
_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class RegistryError(HsiwqError):
    """A model cannot be registered, found, promoted or loaded."""


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_arrays(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays (values, shapes and dtypes), e.g. of the training data."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes() if a.dtype != object else "\x1f".join(map(str, a.ravel())).encode())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    out = {"python": platform.python_version()}
    for dist in ("hsiwq", "scikit-learn", "numpy", "scipy", "skops"):
        try:
            out[dist] = dist_version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out


@dataclass(frozen=True)
class ModelEntry:
    """One registered model (its metadata), as listed by :meth:`ModelRegistry.list`."""

    region: str
    parameter: str
    version: str
    meta: dict
    in_service: bool


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


class ModelRegistry:
    """Registered models of every region (see the module docstring).

    Parameters
    ----------
    root : path
        The registry folder (``Workspace.registry_dir``).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # --- paths ----------------------------------------------------------------------
    def _dir(self, region: str, parameter: str) -> Path:
        if not _REGION.match(region):
            raise RegistryError(region, "invalid region id (letters, digits, '_', '.', '-')")
        if parameter not in PARAMETERS:
            raise RegistryError(parameter, f"unknown parameter id; known: {', '.join(PARAMETERS)}")
        return self.root / region / parameter

    def regions(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []

    def _audit(self, region: str, action: str, **fields) -> None:
        path = self.root / region / "audit.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"time": _now(), "action": action, "by": fields.pop("by", None) or _user(), **fields}
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    # --- registering ----------------------------------------------------------------
    def next_version(self, region: str) -> str:
        """The next free version id of a region (``v<n>``)."""
        highest = 0
        base = self.root / region
        if base.is_dir():
            for f in base.glob("*/v*.json"):
                m = _VERSION.match(f.stem)
                if m:
                    highest = max(highest, int(m.group(1)))
        return f"v{highest + 1}"

    def register(self, region: str, models: dict[str, ParameterModel], meta: dict, *,
                 author: str | None = None) -> str:
        """Store a calibration's models under a new version.

        Parameters
        ----------
        region : str
            Region id.
        models : dict of str to ParameterModel
            By parameter id.
        meta : dict
            Common metadata (training-data hash, per-parameter metrics under
            ``meta["parameters"][pid]``, …); file hashes, versions and time are added.
        author : str, optional
            Who registered (default: the user name).

        Returns
        -------
        str
            The version id.
        """
        if not models:
            raise RegistryError(region, "no model to register")
        version = self.next_version(region)
        created = _now()
        for pid, model in models.items():
            d = self._dir(region, pid)
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"{version}.skops"
            sio.dump(model, path)
            per = dict(meta.get("parameters", {}).get(pid, {}))
            doc = {k: v for k, v in meta.items() if k != "parameters"}
            doc.update(per)
            doc.update({
                "region": region, "parameter": pid, "version": version, "created_at": created,
                "author": author or _user(), "format": "skops", "file": path.name,
                "file_sha256": sha256_file(path), "candidate": model.candidate,
                "n_train": model.n_train, "wavelength_range_nm": list(model.wavelength_range_nm),
                "unit": PARAMETERS[pid].unit, "optically_active": PARAMETERS[pid].optically_active,
                "libraries": library_versions(),
            })
            _atomic_write(d / f"{version}.json", json.dumps(doc, indent=2, default=_json_default))
        self._audit(region, "register", version=version, parameters=sorted(models), by=author)
        return version

    # --- reading --------------------------------------------------------------------
    def metadata(self, region: str, parameter: str, version: str) -> dict:
        path = self._dir(region, parameter) / f"{version}.json"
        if not path.is_file():
            raise RegistryError(f"{region}/{parameter}", f"no version {version!r} "
                                f"(known: {', '.join(self.versions(region, parameter)) or 'none'})")
        return json.loads(path.read_text(encoding="utf-8"))

    def versions(self, region: str, parameter: str) -> list[str]:
        d = self._dir(region, parameter)
        found = [f.stem for f in d.glob("v*.json") if _VERSION.match(f.stem)] if d.is_dir() else []
        return sorted(found, key=lambda v: int(v[1:]))

    def _service(self, region: str, parameter: str) -> dict:
        path = self._dir(region, parameter) / "service.json"
        if not path.is_file():
            return {"version": None, "history": []}
        return json.loads(path.read_text(encoding="utf-8"))

    def in_service(self, region: str) -> dict[str, str]:
        """Version in service per parameter of a region (parameters without one are absent)."""
        out = {}
        for pid in PARAMETERS:
            v = self._service(region, pid)["version"] if (self.root / region / pid).is_dir() else None
            if v:
                out[pid] = v
        return out

    def service_signature(self, region: str) -> tuple:
        """Cheap fingerprint of a region's service state (changes when it changes)."""
        sig = []
        base = self.root / region
        for pid in PARAMETERS:
            p = base / pid / "service.json"
            try:
                st = p.stat()
                sig.append((pid, st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                continue
        return tuple(sig)

    def list(self, region: str | None = None) -> list[ModelEntry]:
        """Every registered model (of one region, or all), oldest first."""
        rows = []
        for reg in ([region] if region else self.regions()):
            for pid in PARAMETERS:
                if not (self.root / reg / pid).is_dir():
                    continue
                current = self._service(reg, pid)["version"]
                for v in self.versions(reg, pid):
                    rows.append(ModelEntry(reg, pid, v, self.metadata(reg, pid, v), v == current))
        return rows

    # --- promotion ------------------------------------------------------------------
    def promote(self, region: str, version: str, parameters: list[str] | None = None, *,
                by: str | None = None) -> list[str]:
        """Put a version in service for the given parameters (default: all it has).

        Returns
        -------
        list of str
            Parameters whose service changed.
        """
        pids = parameters or [p for p in PARAMETERS if (self._dir(region, p) / f"{version}.json").is_file()]
        if not pids:
            raise RegistryError(region, f"no model of version {version!r}")
        changed = []
        for pid in pids:
            self.metadata(region, pid, version)  # exists?
            self.verify(region, pid, version)
            state = self._service(region, pid)
            if state["version"] == version:
                continue
            if state["version"]:
                state["history"].append(state["version"])
            state["version"] = version
            state.setdefault("log", []).append({"time": _now(), "action": "promote", "version": version,
                                                "by": by or _user()})
            _atomic_write(self._dir(region, pid) / "service.json", json.dumps(state, indent=2))
            changed.append(pid)
        self._audit(region, "promote", version=version, parameters=changed, by=by)
        return changed

    def rollback(self, region: str, parameters: list[str] | None = None, *,
                 by: str | None = None) -> dict[str, str | None]:
        """Put the previously served version back in service (None: back to the defaults).

        Returns
        -------
        dict of str to str or None
            New version in service per parameter rolled back.
        """
        pids = parameters or list(self.in_service(region))
        if not pids:
            raise RegistryError(region, "no model in service to roll back")
        out: dict[str, str | None] = {}
        for pid in pids:
            state = self._service(region, pid)
            if state["version"] is None:
                raise RegistryError(f"{region}/{pid}", "no model in service to roll back")
            previous = state["history"].pop() if state["history"] else None
            state.setdefault("log", []).append({"time": _now(), "action": "rollback",
                                                "from": state["version"], "to": previous,
                                                "by": by or _user()})
            state["version"] = previous
            _atomic_write(self._dir(region, pid) / "service.json", json.dumps(state, indent=2))
            out[pid] = previous
        self._audit(region, "rollback", parameters=out, by=by)
        return out

    # --- loading --------------------------------------------------------------------
    def verify(self, region: str, parameter: str, version: str) -> Path:
        """Check a model file against its recorded hash and the trusted types; its path.

        Raises
        ------
        RegistryError
            When the file is missing, changed since registration, not a skops file, or
            holds types outside :data:`TRUSTED_TYPES`.
        """
        meta = self.metadata(region, parameter, version)
        path = self._dir(region, parameter) / meta["file"]
        if not path.is_file():
            raise RegistryError(path, "model file missing")
        digest = sha256_file(path)
        if digest != meta.get("file_sha256"):
            raise RegistryError(path, "SHA-256 differs from the one recorded at registration "
                                      f"({digest[:12]}… ≠ {str(meta.get('file_sha256'))[:12]}…): the file "
                                      "was changed or replaced; refusing to load it")
        check_trusted(path)
        return path

    def load(self, region: str, parameter: str, version: str) -> ParameterModel:
        """A verified model (see :meth:`verify`)."""
        path = self.verify(region, parameter, version)
        model = load_model_file(path)
        if model.parameter != parameter:
            raise RegistryError(path, f"holds a model of {model.parameter!r}, not {parameter!r}")
        return model

    def load_service(self, region: str) -> dict[str, tuple[str, ParameterModel]]:
        """The models in service of a region: parameter → (version, model)."""
        return {pid: (v, self.load(region, pid, v)) for pid, v in self.in_service(region).items()}


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


def load_model_file(path: str | os.PathLike[str]) -> ParameterModel:
    """Load a skops model file after the trusted-types check (no hash check)."""
    trusted = check_trusted(path)
    model = sio.load(path, trusted=trusted)
    if not isinstance(model, ParameterModel):
        raise RegistryError(path, f"holds a {type(model).__name__}, not an hsiwq ParameterModel")
    return model


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "unknown"


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
