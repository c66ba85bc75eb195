"""Bounds and reasons: a 200,000-line cube is refused or tiled within 2 GB, a glint-geometry
reject names glint, a tampered model shows as damaged, values outside the catalogue range are
flagged. Each case from a fresh workspace through the real CLI (issue 17)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import numpy as np

from hsiwq.io.bundle import parse_utc
from hsiwq.models.registry import ModelRegistry
from hsiwq.radiometry.sun import solar_position
from hsiwq.store import SiteStore
from hsiwq.workspace import Workspace

from .conftest import cli_env
from .test_models_registry import _register
from .trust_cases import TAIHU, copy_bundle, hsiwq, one_line_error, taihu, workspace

LINES = 200_000


def _peak_rss(args: list[str], home) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``hsiwq ARGS`` under a fresh Python whose only child it is; (result, peak RSS [MiB])."""
    probe = textwrap.dedent(f'''
        import resource, subprocess, sys
        p = subprocess.run({[sys.executable, "-m", "hsiwq", *args]!r}, capture_output=True, text=True)
        sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)
        print("PEAK_RSS_KIB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        sys.exit(p.returncode)
        ''')
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=cli_env(home), timeout=900)
    kib = int(re.search(r"PEAK_RSS_KIB (\d+)", proc.stdout).group(1))
    return proc, kib / 1024


def _long_cube(dest, samples: int | None) -> None:
    """Make the bundle at ``dest`` a consistent 200,000-line cube: the sample's lines repeated
    (``samples`` of them, without the dark frame), or a sparse file of the full width."""
    hdr = (dest / "water.hdr").read_text()
    width = int(re.search(r"samples = (\d+)", hdr).group(1))
    bands = int(re.search(r"bands = (\d+)", hdr).group(1))
    hdr = re.sub(r"lines = \d+", f"lines = {LINES}", hdr)
    if samples is None:  # sparse: nothing is written but the size
        with open(dest / "water.raw", "r+b") as fh:
            fh.truncate(LINES * width * bands * 2)
    else:
        mid = width // 2  # water: the scene's middle columns
        raw = np.fromfile(dest / "water.raw", "<u2").reshape(-1, bands, width)
        raw = raw[:, :, mid - samples // 2:mid - samples // 2 + samples]
        reps = -(-LINES // raw.shape[0])
        np.ascontiguousarray(np.tile(raw, (reps, 1, 1))[:LINES]).tofile(dest / "water.raw")
        hdr = re.sub(r"samples = \d+", f"samples = {samples}", hdr)
        for f in ("dark.hdr", "dark.raw"):
            (dest / f).unlink()
    (dest / "water.hdr").write_text(hdr)


def test_a_200000_line_cube_is_refused_in_one_line_not_a_memory_error(tmp_path):
    home = workspace(tmp_path, TAIHU)
    bundle = copy_bundle(taihu(), tmp_path / "big")
    _long_cube(bundle, None)  # 200,000 x 48 x 120: 4,395 MiB as float32 Rrs
    proc, peak = _peak_rss(["process", str(bundle), "--site", "taihu-north"], home)
    err = one_line_error(proc)
    assert "200,000 lines x 48 samples x 120 bands is 4,395 MiB" in err
    assert "max_cube_mb = 4096" in err and "MemoryError" not in proc.stderr
    assert peak < 2048, peak
    print(f"\nFIGURE refused: exit {proc.returncode}, peak RSS {peak:.0f} MiB: {err}")


def test_a_200000_line_cube_above_tile_size_is_corrected_by_tiles_within_2_gb(tmp_path):
    home = workspace(tmp_path, TAIHU + "\n[processing]\ntile_above_mb = 16\ntile_rows = 8192\n")
    bundle = copy_bundle(taihu(), tmp_path / "long")
    _long_cube(bundle, 4)  # 200,000 x 4 x 120: 183 MiB of counts, 366 MiB as float32
    proc, peak = _peak_rss(["process", str(bundle), "--site", "taihu-north"], home)
    assert proc.returncode == 0, proc.stderr
    ds = SiteStore(Workspace(home).store_path("taihu-north")).read()
    assert ds.sizes["time"] == 1
    assert str(ds["verdict"].values[0]) == "accepted", str(ds["reason"].values[0])
    assert float(ds["n_valid"].values[0]) > 0.5 * LINES * 4
    assert peak <= 2048, peak
    print(f"\nFIGURE tiled: exit {proc.returncode}, peak RSS {peak:.0f} MiB, "
          f"{int(ds['n_valid'].values[0]):,} valid pixels")


def test_a_glint_geometry_reject_names_glint_with_azimuth_rho_and_counts(tmp_path):
    home = workspace(tmp_path, TAIHU)
    src = taihu(0)
    meta = json.loads((src / "acquisition.json").read_text())
    _, sun_az = solar_position(parse_utc(meta["time"]), 31.40, 120.18)
    bundle = copy_bundle(src, tmp_path / "glint", view={"azimuth_deg": (sun_az + 6.0) % 360})
    proc = hsiwq(["process", str(bundle), "--site", "taihu-north"], home)
    assert proc.returncode == 0, proc.stderr
    ds = SiteStore(Workspace(home).store_path("taihu-north")).read()
    reason, rho = str(ds["reason"].values[0]), float(ds["rho"].values[0])
    assert str(ds["verdict"].values[0]) == "rejected"
    assert float(ds["relative_azimuth_deg"].values[0]) == np.float32(6.0)
    assert reason.startswith(f"sun-glint geometry (relative azimuth 6°, rho {rho:.3f}): "
                             "too few valid water pixels (0.0 % < 5 %); of 3,072 ROI pixels: ")
    assert f"{int(ds['n_negative_rrs'].values[0]):,} negative Rrs" in reason
    assert rho > 0.1  # Mobley (1999): looking towards the sun, rho is several times 0.028
    events = [json.loads(line) for line in (home / "logs" / "hsiwq.jsonl").read_text().splitlines()]
    assert [e["reason"] for e in events if e["event"] == "acquisition_processed"] == [reason]
    # parameters are stored with the physical minimum as CF valid_min (docs/trust.md)
    assert ds["chl_a"].attrs["valid_min"] == 0.0 and ds["chl_a"].attrs["hsiwq_catalogue_range"][0] == 0.1
    print(f"\nFIGURE glint: {reason}")


def test_models_list_marks_a_tampered_model_as_damaged(tmp_path):
    home = workspace(tmp_path)
    reg, version = _register(Workspace(home), region="lake", params=("chl_a", "tss"))
    reg.promote("lake", version)
    proc = hsiwq(["models", "list"], home)
    assert proc.returncode == 0 and "DAMAGED" not in proc.stdout, proc.stderr
    f = home / "registry" / "lake" / "chl_a" / f"{version}.skops"
    data = bytearray(f.read_bytes())
    data[-100] ^= 0xFF
    f.write_bytes(bytes(data))
    proc = hsiwq(["models", "list"], home)
    assert proc.returncode == 1
    rows = {line.split()[2]: line for line in proc.stdout.splitlines() if line.startswith(("*", " "))
            and "lake" in line}
    assert "DAMAGED" in rows["chl_a"] and "DAMAGED" not in rows["tss"]
    assert "lake/chl_a/v1 (in service)" in proc.stderr and "SHA-256 differs" in proc.stderr
    assert ModelRegistry(home / "registry").problem("lake", "tss", version) == ""
    print(f"\nFIGURE models list: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")


def test_values_outside_the_catalogue_range_are_kept_and_flagged():
    from hsiwq.pipeline import flag_out_of_range

    numeric = {"chl_a": 0.05, "chl_a_ood": 0.0, "tss": -0.2, "tss_ood": 0.0, "secchi": 1.2,
               "secchi_ood": 0.0, "cdom": float("nan"), "cdom_ood": float("nan")}
    flag_out_of_range(numeric)
    assert numeric["chl_a"] == 0.05 and numeric["chl_a_ood"] == 1.0  # below 0.1: kept, flagged
    assert numeric["tss"] == 0.0 and numeric["tss_ood"] == 1.0  # impossible: clipped, flagged
    assert numeric["secchi_ood"] == 0.0 and np.isnan(numeric["cdom_ood"])
