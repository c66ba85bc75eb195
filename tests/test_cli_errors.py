"""Broken bundles: one line naming the file and the problem, non-zero exit, no traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from .conftest import cli_env, sample_bundles

GOOD = sample_bundles("taihu-north")[0]


def _json_edit(fn):
    def edit(b):
        doc = json.loads((b / "acquisition.json").read_text())
        fn(doc)
        (b / "acquisition.json").write_text(json.dumps(doc))
    return edit


def _truncate(b):
    data = (b / "water.raw").read_bytes()
    (b / "water.raw").write_bytes(data[: len(data) // 2])


def _header_lines(b):
    hdr = (b / "water.hdr").read_text()
    lines = next(l for l in hdr.splitlines() if l.strip().startswith("lines"))
    n = int(lines.split("=")[1])
    (b / "water.hdr").write_text(hdr.replace(lines, f"lines = {n + 3}"))


def _no_irradiance(b):
    (b / "irradiance.hdr").unlink()
    (b / "irradiance.raw").unlink()


def _empty(b):
    shutil.rmtree(b)
    b.mkdir()


CASES = {
    "truncated data": (_truncate, "water.raw", "truncated"),
    "header vs file size": (_header_lines, "water.raw", "header implies"),
    "missing irradiance": (_no_irradiance, "irradiance.hdr", "missing"),
    "bad JSON": (lambda b: (b / "acquisition.json").write_text('{"site": "taihu-north",'), "acquisition.json", "invalid JSON"),
    "unknown sensor": (_json_edit(lambda d: d.update(sensor="HSI-9999")), "HSI-9999",
                       {"correct": "unknown sensor", "process": "differs from site 'taihu-north''s sensor"}),
    "no time": (_json_edit(lambda d: d.pop("time")), "acquisition.json", "no time"),
    "empty folder": (_empty, "", "empty bundle folder"),
}


def run(args, home):
    return subprocess.run([sys.executable, "-m", "hsiwq", *args], capture_output=True, text=True,
                          env=cli_env(home), timeout=120)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["correct", "process"])
def test_broken_bundle_one_line_error(case, command, tmp_path):
    breaker, names, problem = CASES[case]
    problem = problem[command] if isinstance(problem, dict) else problem
    bundle = tmp_path / "bundle"
    shutil.copytree(GOOD, bundle)
    breaker(bundle)
    args = (["correct", str(bundle), "--out", str(tmp_path / "o.zarr")] if command == "correct"
            else ["process", str(bundle), "--site", "taihu-north"])
    proc = run(args, tmp_path / "home")
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1, proc.stderr
    assert err[0].startswith("hsiwq: error: ")
    assert names in err[0] and problem in err[0], err[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_debug_shows_traceback(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(GOOD, bundle)
    _truncate(bundle)
    proc = run(["--debug", "correct", str(bundle), "--out", str(tmp_path / "o.zarr")], tmp_path / "h")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_one_bad_bundle_does_not_stop_the_others(tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(GOOD, bad)
    _truncate(bad)
    proc = run(["process", str(bad), *map(str, sample_bundles("taihu-north")), "--site", "taihu-north"],
               tmp_path / "home")
    assert proc.returncode == 2
    assert proc.stdout.count("accepted") == len(sample_bundles("taihu-north"))
    assert "truncated" in proc.stderr


def test_help_lists_commands(tmp_path):
    proc = run(["--help"], tmp_path / "h")
    assert proc.returncode == 0
    for cmd in ("simulate", "correct", "process", "demo", "run-site"):
        assert cmd in proc.stdout
