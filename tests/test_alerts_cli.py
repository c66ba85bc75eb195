"""``hsiwq alerts list|ack|silence|history|check`` on a workspace with a firing alert."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from hsiwq.alerts.service import after_write
from hsiwq.cli import cli
from hsiwq.config import load_config
from hsiwq.store import Record
from hsiwq.workspace import Workspace

from .conftest import cli_env


@pytest.fixture
def firing(home):
    """The default config's bloom alert firing at taihu-north (just now)."""
    config, _ = load_config(None)
    ws = Workspace.resolve()
    now = datetime.now(timezone.utc)
    for i, chl in enumerate([20.0, 70.0]):
        rec = Record(now - timedelta(minutes=10 - 5 * i), {"chl_a": chl, "chl_a_ood": 0.0},
                     {"verdict": "accepted"})
        after_write(config.sites["taihu-north"], config, ws, rec)
    return ws


def run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=True)
    return result


def test_list_shows_the_firing_alert(firing):
    r = run("alerts", "list")
    assert r.exit_code == 0, r.output
    assert "taihu-north" in r.output and "chl-bloom" in r.output and "firing" in r.output
    doc = json.loads(run("alerts", "list", "--json").output)
    assert doc["alerts"][0]["rule"] == "chl-bloom" and doc["undelivered"] == []


def test_ack_then_list_and_history(firing):
    r = run("alerts", "ack", "taihu-north", "chl-bloom", "--by", "wang", "-m", "sampling boat sent")
    assert r.exit_code == 0 and "acknowledged taihu-north/chl-bloom" in r.output
    doc = json.loads(run("alerts", "list", "--json").output)
    assert doc["alerts"][0]["acked_by"] == "wang"
    lines = [json.loads(x) for x in run("alerts", "history", "--json", "--site", "taihu-north").output.splitlines()]
    assert [e["event"] for e in lines][-2:] == ["firing", "acked"]
    assert lines[-1]["comment"] == "sampling boat sent"


def test_silence_for_a_while_and_remove(firing):
    r = run("alerts", "silence", "taihu-north", "chl-*", "--for", "2h", "-m", "dredging")
    assert r.exit_code == 0, r.output
    sid = r.output.split()[1].rstrip(":")
    doc = json.loads(run("alerts", "list", "--json").output)
    assert doc["silences"][0]["id"] == sid and doc["alerts"][0]["silenced_by"] == sid
    until = doc["silences"][0]["ends"]
    assert datetime.fromisoformat(until) - datetime.now(timezone.utc) > timedelta(minutes=119)
    assert run("alerts", "silence", "--remove", sid).exit_code == 0
    assert json.loads(run("alerts", "list", "--json").output)["silences"] == []


def test_check_runs_the_periodic_work(firing):
    r = run("alerts", "check")
    assert r.exit_code == 0 and "delivered 0, undelivered 0" in r.output


@pytest.mark.parametrize("args,msg", [
    (["alerts", "ack", "taihu-north", "nope"], "taihu-north/nope: no such firing alert; firing at this site: chl-bloom"),
    (["alerts", "ack", "nowhere", "chl-bloom"], "unknown site 'nowhere'"),
    (["alerts", "silence", "taihu-north", "nope", "--for", "1h"], "matches no rule of the site"),
    (["alerts", "silence", "taihu-north", "--for", "soon"], "not a duration: 'soon'"),
    (["alerts", "silence", "taihu-north"], "give exactly one of --for or --until"),
    (["alerts", "history", "--since", "yesterday"], "neither an ISO time nor a duration"),
])
def test_errors_are_one_line_without_traceback(firing, args, msg):
    proc = subprocess.run([sys.executable, "-m", "hsiwq", *args], capture_output=True, text=True,
                          env=cli_env(firing.root), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert msg in proc.stderr and "Traceback" not in proc.stderr


def test_damaged_state_is_reported_on_one_line(firing):
    (firing.alerts_dir / "state.json").write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "hsiwq", "alerts", "list"], capture_output=True, text=True,
                          env=cli_env(firing.root), timeout=120)
    assert proc.returncode == 2 and "damaged alert state" in proc.stderr and "Traceback" not in proc.stderr
