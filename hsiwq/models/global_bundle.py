"""The global model bundled with hsiwq: building, checking and loading it.

``hsiwq/data/global_gloria.skops`` is the :class:`~.global_model.GlobalModel` fitted on
every bundled GLORIA matchup (:mod:`.gloria`); ``global_gloria.json`` beside it records its
SHA-256, the training data's hash, the library versions and the leave-one-country-out
figures. :func:`bundled_global_model` loads it once per process after checking both the
hash and the types it holds (:mod:`.trust`); :func:`resolve_global` answers a regional
model that refers to it by label. ``python -m hsiwq.models.global_bundle`` rebuilds both
files from the bundled data.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from pathlib import Path

import numpy as np

from ..errors import HsiwqError
from .global_model import GlobalModel

#: The model shipped with hsiwq, fitted on every bundled GLORIA matchup, and its record.
BUNDLED_FILE = Path(__file__).resolve().parent.parent / "data" / "global_gloria.skops"
BUNDLED_RECORD = BUNDLED_FILE.with_suffix(".json")
_LOCK = threading.Lock()
_LOADED: dict[str, GlobalModel] = {}


class GlobalModelError(HsiwqError):
    """The bundled global model cannot be loaded."""


def build_global_model(out: str | Path = BUNDLED_FILE, random_state: int = 0) -> dict:
    """Fit the global model on every bundled GLORIA matchup and save it (skops + record).

    Returns
    -------
    dict
        The record written beside the model: version, data hash, library versions,
        leave-one-country-out MdSA and interval coverage per parameter.
    """
    import sklearn
    import skops.io as sio

    from .gloria import CITATION, GLORIA_FILE, load_gloria
    from .metrics import mdsa

    data = load_gloria()
    model = GlobalModel(random_state=random_state).fit(data.rrs, data.values, data.country)
    out = Path(out)
    cv, model.cv_ = model.cv_, {}  # the record keeps the figures; the file stays small
    sio.dump(model, out, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    record = {"version": f"gloria-{digest[:8]}", "sha256": digest, "trained_on": CITATION,
              "data_sha256": hashlib.sha256(GLORIA_FILE.read_bytes()).hexdigest(),
              "n_samples": len(data), "sklearn": sklearn.__version__, "cv": {}}
    for key, cv in cv.items():
        est = cv["estimate"]
        half = model.intervals_[key].half_width(model._difficulty(cv["members"], est))
        record["cv"][key] = {
            "n": int(est.size), "mdsa_loco": round(mdsa(np.exp(cv["truth"]), np.exp(est)), 2),
            "coverage_68": round(float(np.mean(np.abs(cv["truth"] - est) <= half)), 3)}
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def bundled_global_model() -> GlobalModel:
    """The bundled global model (loaded once per process, checked against its record).

    Raises
    ------
    GlobalModelError
        When the file is missing, altered, or holds types outside the trusted list.
    """
    with _LOCK:
        hit = _LOADED.get("bundled")
        if hit is not None:
            return hit
        import skops.io as sio

        from .trust import RegistryError, check_trusted

        if not BUNDLED_FILE.is_file() or not BUNDLED_RECORD.is_file():
            raise GlobalModelError(BUNDLED_FILE, "the bundled global model is missing; rebuild it with "
                                                 "'python -m hsiwq.models.global_bundle'")
        record = json.loads(BUNDLED_RECORD.read_text(encoding="utf-8"))
        if hashlib.sha256(BUNDLED_FILE.read_bytes()).hexdigest() != record.get("sha256"):
            raise GlobalModelError(BUNDLED_FILE, "does not match its recorded SHA-256 (altered file); "
                                                 "reinstall hsiwq or rebuild the model")
        try:
            model = sio.load(BUNDLED_FILE, trusted=check_trusted(BUNDLED_FILE))
        except RegistryError as exc:
            raise GlobalModelError(BUNDLED_FILE, str(exc)) from None
        model.version_ = str(record["version"])
        _LOADED["bundled"] = model
        return model


def resolve_global(label: str) -> GlobalModel:
    """The bundled global model named by ``label`` (``global/<version>``).

    Raises
    ------
    GlobalModelError
        When the bundled model is another version (hsiwq was upgraded since the regional
        model that refers to it was calibrated: recalibrate the region).
    """
    model = bundled_global_model()
    if label != f"global/{model.version_}":
        raise GlobalModelError(label, f"this regional model was calibrated with {label}, but this hsiwq "
                                      f"bundles global/{model.version_}: recalibrate the region "
                                      "('hsiwq calibrate')")
    return model


if __name__ == "__main__":  # python -m hsiwq.models.global_bundle: rebuild the bundled model
    print(json.dumps(build_global_model(), indent=2))
