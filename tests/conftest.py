"""Shared fixtures: the bundled sample cubes, an isolated workspace, a moto S3 server."""

from __future__ import annotations

import os
import shutil
import socket
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_cubes"


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory):
    """hsiwq's cache (the Prefect schema template of ``hsiwq serve``) in the session's own
    folder, not the user's: the first server of the session migrates, the others copy."""
    old = os.environ.get("HSIWQ_CACHE_DIR")
    os.environ["HSIWQ_CACHE_DIR"] = str(tmp_path_factory.mktemp("hsiwq-cache"))
    yield
    if old is None:
        os.environ.pop("HSIWQ_CACHE_DIR", None)
    else:
        os.environ["HSIWQ_CACHE_DIR"] = old


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty HSIWQ_HOME for the test, with Prefect kept inside it and telemetry off."""
    h = tmp_path / "home"
    monkeypatch.setenv("HSIWQ_HOME", str(h))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    monkeypatch.delenv("HSIWQ_CALIBRATION", raising=False)
    return h


def sample_bundles(site: str) -> list[Path]:
    return sorted(p for p in (SAMPLES / site).iterdir() if p.is_dir())


def cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HSIWQ_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_HOME": str(home / "prefect")})
    return env


# --- object storage: a moto S3 server on loopback ------------------------------------------
#: Credentials moto accepts (set in the environment of code that reads ``[storage]``).
S3_CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 server with bucket ``hsiwq``.

    Attributes
    ----------
    endpoint : str
        ``http://127.0.0.1:<port>``.
    options : dict
        fsspec/s3fs options reaching it (credentials included).
    fs : s3fs.S3FileSystem
        A file system on it.
    """

    endpoint: str
    options: dict[str, Any]
    fs: Any


@pytest.fixture(scope="session")
def moto_s3():
    """A moto S3 server on 127.0.0.1 with bucket 'hsiwq', shared by the session (tests keep
    to their own prefixes); skips without moto or s3fs."""
    pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    options = {"key": "testing", "secret": "testing",
               "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
    fs = s3fs.S3FileSystem(**options)
    fs.call_s3("create_bucket", Bucket="hsiwq")
    yield S3Server(endpoint, options, fs)
    server.stop()


def put_bundle(fs, local: Path, url: str) -> None:
    """Upload a sample bundle's files (not its ``truth.npz``) to ``url`` (bucket/prefix)."""
    for f in sorted(local.iterdir()):
        if f.name != "truth.npz":
            fs.put_file(str(f), f"{url}/{f.name}")


def s3_sites_toml(endpoint: str, root: str = "s3://hsiwq") -> str:
    """The sample sites with locations under ``root`` on the S3 server at ``endpoint``.

    taihu-north: inbox, archive and store on S3, quarantine a relative local folder, one
    alert rule; yangtze-nanjing: archive on S3, the workspace's inbox, quarantine and store.
    """
    return textwrap.dedent(f'''
        [storage]
        endpoint_url = "{endpoint}"
        region = "us-east-1"

        [sites.taihu-north]
        lat = 31.40
        lon = 120.18
        timezone = "Asia/Shanghai"
        region = "taihu"
        sensor = "HSI-0001"
        inbox = "{root}/inbox/taihu-north"
        archive = "{root}/archive/taihu-north"
        store = "{root}/store/taihu-north.zarr"
        quarantine = "quarantine-local/taihu-north"   # relative: inside the workspace

        [[sites.taihu-north.rules]]
        id = "chl-bloom"
        param = "chl_a"
        above = 50.0
        clear = 40.0

        [sites.yangtze-nanjing]
        lat = 32.06
        lon = 118.74
        region = "yangtze"
        waterbody = "river"
        sensor = "HSI-0002"
        archive = "{root}/archive/yangtze-nanjing"
        ''')


def workspace_with(home: Path, sites_toml: str):
    """A workspace at ``home`` with the sites of ``sites_toml`` and its own copy of the bundled
    sensor calibrations; returns (workspace, calibration folder) for simulating bundles."""
    from hsiwq.workspace import Workspace, bundled_calibration_dir

    cal = home / "calibration" / "sensors"
    shutil.copytree(bundled_calibration_dir(), cal)
    (home / "sites.toml").write_text(sites_toml)
    return Workspace(home), cal


@dataclass
class PhysicsInputs:
    """Simulated training and test matchups of one water type, their spectra and features."""

    train: Any
    test: Any
    rrs: Any
    wavelength_nm: Any
    test_rrs: Any
    features: Any  # the fitted SpectralFeatures
    F: Any
    test_F: Any


def physics_inputs(water: str, n_train: int, train_seed: int, n_test: int, test_seed: int,
                   missing_fraction: float = 0.15) -> PhysicsInputs:
    """What a physics-stage test fits on: spectra and spectral features of simulated matchups."""
    from hsiwq.models.features import SpectralFeatures
    from hsiwq.models.spectra import common_grid, resample, spectra_from_table
    from hsiwq.simulate.matchups import simulate_matchups

    train = simulate_matchups(water, n_train, seed=train_seed, missing_fraction=missing_fraction)
    test = simulate_matchups(water, n_test, seed=test_seed)
    r, wl = spectra_from_table(train)
    rt, _ = spectra_from_table(test)
    grid = common_grid(wl)
    f = SpectralFeatures(wavelength_nm=tuple(grid)).fit(resample(r, wl, grid))
    return PhysicsInputs(train, test, r, wl, rt, f, f.transform(resample(r, wl, grid)),
                         f.transform(resample(rt, wl, grid)))
