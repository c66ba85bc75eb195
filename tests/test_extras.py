"""Optional extras: a feature whose extra is missing stops with one line naming the extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hsiwq.config import SitesConfig
from hsiwq.errors import HsiwqError, MissingExtraError, require_extra
from hsiwq.inbox import site_locations
from hsiwq.store.objects import ObjectStore
from hsiwq.workspace import Workspace


@pytest.fixture
def no_s3fs(monkeypatch):
    """An environment where ``import s3fs`` fails, as without the ``s3`` extra."""
    monkeypatch.setitem(sys.modules, "s3fs", None)


def test_require_extra_names_the_extra_and_the_feature(no_s3fs):
    with pytest.raises(MissingExtraError) as err:
        require_extra("s3fs", "s3", "s3://bucket/site.zarr")
    assert isinstance(err.value, HsiwqError)
    assert str(err.value) == ("s3://bucket/site.zarr: needs the optional extra 's3' (s3fs is not "
                              "installed): pip install 'hsiwq[s3]'")
    require_extra("json", "none", "x")  # an importable module passes


def test_s3_locations_without_the_extra(no_s3fs, tmp_path):
    config = SitesConfig.model_validate(
        {"sites": {"lake": {"lat": 30.0, "lon": 114.0, "inbox": "s3://wq-monitors/inbox/lake"}}})
    ws = Workspace(tmp_path)
    with pytest.raises(MissingExtraError, match=r"sites\.lake\.inbox .*pip install 'hsiwq\[s3\]'"):
        site_locations(config.sites["lake"], config, ws)
    with pytest.raises(MissingExtraError, match=r"hsiwq\[s3\]"):
        ObjectStore("s3://wq-monitors/lake.zarr")
    # local locations need nothing
    local = SitesConfig.model_validate({"sites": {"lake": {"lat": 30.0, "lon": 114.0}}})
    assert site_locations(local.sites["lake"], local, ws).inbox.local


def test_the_demo_path_imports_no_optional_extra():
    # What `make demo` installs (the core) must be enough for the chain: importing the
    # pipeline, the site flow and the CLI pulls in none of the extras' packages.
    code = ("import sys; import hsiwq.pipeline, hsiwq.cli, flows.site, flows.cli; "
            "print(sorted(m for m in ('s3fs', 'dask', 'distributed', 'prefect_dask', 'numba') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
