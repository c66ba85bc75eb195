"""`hsiwq demo` delivers the samples to each site's configured inbox, here one on S3 (moto on
127.0.0.1), and names the configured stores."""

from __future__ import annotations

import subprocess
import sys

from .conftest import S3_CREDS, cli_env, s3_sites_toml, sample_bundles

ROOT = "hsiwq/demo"  # this module's prefix in the shared bucket


def test_demo_with_an_inbox_on_s3(moto_s3, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "sites.toml").write_text(s3_sites_toml(moto_s3.endpoint, f"s3://{ROOT}"))
    env = cli_env(home) | S3_CREDS
    env.pop("HSIWQ_CALIBRATION", None)
    r = subprocess.run([sys.executable, "-m", "hsiwq", "demo"], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"store: s3://{ROOT}/store/taihu-north.zarr" in r.stdout
    fs = moto_s3.fs
    fs.invalidate_cache()
    names = sorted(b.name for b in sample_bundles("taihu-north"))
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{ROOT}/archive/taihu-north")) == names
    assert not fs.exists(f"{ROOT}/inbox/taihu-north") or not fs.ls(f"{ROOT}/inbox/taihu-north")
    assert not fs.exists(f"{ROOT}/archive/taihu-north/{names[0]}/truth.npz")
    assert fs.exists(f"{ROOT}/store/taihu-north.zarr")
    assert "chl-bloom" in r.stdout  # the bloom bundle fired its alert
    assert not (home / "inbox" / "taihu-north").exists()
