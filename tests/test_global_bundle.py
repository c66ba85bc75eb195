"""The bundled global model: its file is checked against its record before it is loaded.

A regional model refers to the global model by label (``global/<version>``), so a changed or
missing file must stop with a message naming the fix, never load silently.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from hsiwq.models import global_bundle
from hsiwq.models.global_bundle import GlobalModelError, bundled_global_model, resolve_global


@pytest.fixture
def copy_of_bundle(tmp_path, monkeypatch):
    """The bundled file and record copied to ``tmp_path``, the loader pointed at them and its
    cache emptied (restored afterwards)."""
    model = tmp_path / "global_gloria.skops"
    record = tmp_path / "global_gloria.json"
    shutil.copyfile(global_bundle.BUNDLED_FILE, model)
    shutil.copyfile(global_bundle.BUNDLED_RECORD, record)
    monkeypatch.setattr(global_bundle, "BUNDLED_FILE", model)
    monkeypatch.setattr(global_bundle, "BUNDLED_RECORD", record)
    monkeypatch.setattr(global_bundle, "_LOADED", {})
    return model, record


def test_the_bundled_model_matches_its_record():
    record = json.loads(global_bundle.BUNDLED_RECORD.read_text(encoding="utf-8"))
    digest = hashlib.sha256(global_bundle.BUNDLED_FILE.read_bytes()).hexdigest()
    assert record["sha256"] == digest
    assert record["version"] == f"gloria-{digest[:8]}"
    model = bundled_global_model()
    assert model.version_ == record["version"]
    assert bundled_global_model() is model  # loaded once per process
    assert resolve_global(f"global/{record['version']}") is model


def test_another_version_asks_to_recalibrate():
    with pytest.raises(GlobalModelError, match="recalibrate the region") as info:
        resolve_global("global/gloria-00000000")
    assert "global/gloria-00000000" in str(info.value)


def test_an_altered_file_is_refused(copy_of_bundle):
    model, _ = copy_of_bundle
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(GlobalModelError, match="altered file") as info:
        bundled_global_model()
    assert str(model) in str(info.value)


def test_a_missing_file_names_the_command_that_rebuilds_it(copy_of_bundle):
    model, _ = copy_of_bundle
    model.unlink()
    with pytest.raises(GlobalModelError, match="python -m hsiwq.models.global_bundle"):
        bundled_global_model()

