"""Helpers of the trust tests: a fresh workspace, the real CLI, files outside the workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import cli_env, sample_bundles

TAIHU = textwrap.dedent('''
    [sites.taihu-north]
    lat = 31.40
    lon = 120.18
    timezone = "Asia/Shanghai"
    region = "taihu"
    sensor = "HSI-0001"
    ''')


def hsiwq(args: list[str], home: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m hsiwq ARGS`` with ``HSIWQ_HOME=home`` (Prefect inside it, telemetry off)."""
    return subprocess.run([sys.executable, "-m", "hsiwq", *args], capture_output=True, text=True,
                          env=cli_env(home), timeout=timeout)


def workspace(tmp_path: Path, config: str | None = None) -> Path:
    """A fresh workspace two folders below ``tmp_path`` (so that ``../..`` stays in it)."""
    home = tmp_path / "outer" / "inner" / "home"
    home.mkdir(parents=True)
    if config is not None:
        (home / "sites.toml").write_text(config)
    return home


def snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` outside ``skip`` -> (size, mtime_ns)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            dirs[:] = []
            continue
        for name in dirs + files:
            p = Path(dirpath, name)
            if p == skip:
                continue
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size if p.is_file() else 0, st.st_mtime_ns)
    return out


def copy_bundle(src: Path, dest: Path, **changes) -> Path:
    """Copy a bundle folder; ``changes`` update keys of its acquisition.json (dicts merge)."""
    shutil.copytree(src, dest)
    if changes:
        meta_file = dest / "acquisition.json"
        meta = json.loads(meta_file.read_text())
        for k, v in changes.items():
            meta[k] = {**meta[k], **v} if isinstance(v, dict) and isinstance(meta.get(k), dict) else v
        meta_file.write_text(json.dumps(meta, indent=2))
    return dest


def taihu(i: int = 1) -> Path:
    """The i-th sample bundle of taihu-north."""
    return sample_bundles("taihu-north")[i]


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The stderr of a refused command, checked to be one ``hsiwq: error:`` line."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout, err)
    assert "Traceback" not in err and err.startswith("hsiwq: error:"), err
    assert len(err.splitlines()) == 1, err
    return err
