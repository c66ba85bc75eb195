"""docs/tutorial.md, run as written: its ``bash`` blocks, in order, in an empty folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.S | re.M)


def bash_blocks(text: str) -> list[str]:
    """The fenced ``bash`` blocks of a markdown text, in order."""
    return _BLOCK.findall(text)


def test_tutorial_blocks_are_found():
    blocks = bash_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    joined = "\n".join(blocks)
    for command in ("hsiwq simulate", "sites.toml", "hsiwq run-site", "hsiwq process",
                    "hsiwq series", "hsiwq alerts list"):
        assert command in joined


@pytest.mark.timeout(1200)
def test_tutorial_runs_as_written(tmp_path):
    # About 35 s of CPU time; the generous time-out is for a shared, loaded machine.
    script = "set -euo pipefail\n" + "\n".join(bash_blocks(TUTORIAL.read_text(encoding="utf-8")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HSIWQ_", "PREFECT_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HSIWQ_HOME=str(tmp_path / "unused-home"),  # the tutorial sets its own, inside tmp_path
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        COLUMNS="200",
    )
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=1100)
    assert run.returncode == 0, f"tutorial failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    home = tmp_path / "my-lake" / "hsiwq-home"

    # Both acquisitions are in the store, accepted, with a bloom's chlorophyll-a (80-300 µg/L
    # in the simulator's bloom) above the rule's 50 µg/L.
    csv = [line for line in run.stdout.splitlines() if line.startswith("2026-07-01")]
    assert len(csv) == 2, run.stdout
    # The inbox was emptied into the archive by the flow.
    assert not any((home / "inbox" / "lake-a").iterdir())
    assert (home / "archive" / "lake-a").is_dir()

    # The alert fired once and was delivered to the file subscriber.
    notes = [json.loads(line) for line in
             (home / "notifications" / "me.jsonl").read_text().splitlines() if line]
    firing = [n for n in notes if n.get("rule") == "chl-high" and n.get("status") == "firing"]
    assert len(firing) == 1, notes
    assert firing[0]["site"] == "lake-a"
    assert firing[0]["value"] > 50.0
    assert "chl-high" in run.stdout  # hsiwq alerts list shows it


def test_docs_stand_alone():
    """No file of the repository points at the design notes that users do not have, and every
    relative link of the docs names a file of the repository."""
    root = TUTORIAL.parents[1]
    banned = "design" + ".md"
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                           check=True).stdout.split()
    offenders = []
    for name in files:
        path = root / name
        if path.suffix in {".py", ".md", ".toml", ".txt", ".json", ".cfg", ""} and path.is_file():
            if banned in path.read_text(encoding="utf-8", errors="ignore"):
                offenders.append(name)
    assert not offenders
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"
