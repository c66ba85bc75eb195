"""Identifiers and locations from the configuration cannot name a place outside the workspace.

Each case is re-run from a fresh workspace through the real CLI (issue 17).
"""

from __future__ import annotations

import pytest

from hsiwq.config import load_config
from hsiwq.errors import ConfigError
from hsiwq.ids import check_id, suggest_id
from hsiwq.workspace import Workspace

from .trust_cases import TAIHU, copy_bundle, hsiwq, one_line_error, snapshot, taihu, workspace

SITE = '\nlat = 31.40\nlon = 120.18\nregion = "taihu"\nsensor = "HSI-0001"\n'


@pytest.mark.parametrize("key,expect", [
    ('"../../esc"', "invalid site id '../../esc'"),
    ("Erhai_West", "use 'erhai-west'"),
    ("a" * 300, "site id is 300 characters long; at most 64"),
    ('"erhai west"', "use 'erhai-west'"),
    ('"洱海"', "invalid site id"),
    ('"/etc"', "no '/'"),
])
def test_bad_site_id_refused_at_load_and_nothing_written_outside(tmp_path, key, expect):
    home = workspace(tmp_path, f"[sites.{key}]{SITE}")
    before = snapshot(tmp_path, home)
    site = key.strip('"')
    every = [["run-site", "--site", site], ["status"], ["series", "--site", site, "--param", "chl_a"]]
    for args in [["process", str(taihu()), "--site", site]] + (every if site == "../../esc" else []):
        err = one_line_error(hsiwq(args, home))
        assert str(home / "sites.toml") in err and expect in err, err
        assert f"sites.{site[:40]}" in err  # the key
        print(f"\nFIGURE {args[0]} {key[:20]}: exit 2: {err}")
    assert snapshot(tmp_path, home) == before  # not one file outside the workspace


def test_valid_ids_work_end_to_end_and_stay_inside(tmp_path):
    home = workspace(tmp_path, TAIHU.replace("taihu-north", "erhai-west"))
    bundle = tmp_path / "erhai-west-bundle"
    copy_bundle(taihu(), bundle, site="erhai-west")
    before = snapshot(tmp_path, home)
    proc = hsiwq(["process", str(bundle), "--site", "erhai-west"], home)
    assert proc.returncode == 0, proc.stderr
    assert (home / "store" / "erhai-west.zarr").is_dir()
    assert snapshot(tmp_path, home) == before


@pytest.mark.parametrize("key,value", [("inbox", "../../x"), ("store", "store/../../x.zarr"),
                                       ("archive", "a/../../b"), ("quarantine", "/data/../etc")])
def test_locations_with_dotdot_refused(tmp_path, key, value):
    home = workspace(tmp_path, f'[sites.a]{SITE}{key} = "{value}"\n')
    err = one_line_error(hsiwq(["status"], home))
    assert f"sites.a.{key}" in err and "'..'" in err


def test_region_and_rule_ids_follow_the_rule(tmp_path):
    f = tmp_path / "sites.toml"
    f.write_text('[sites.a]\nlat = 1\nlon = 1\nregion = "Tai Hu"\n')
    with pytest.raises(ConfigError, match="sites.a.region: invalid region id 'Tai Hu'.*'tai-hu'"):
        load_config(f, workspace=Workspace(tmp_path))
    f.write_text('[sites.a]\nlat = 1\nlon = 1\n[[sites.a.rules]]\nid = "chl/bloom"\n'
                 'param = "chl_a"\nabove = 5\n')
    with pytest.raises(ConfigError, match="invalid rule id 'chl/bloom'"):
        load_config(f, workspace=Workspace(tmp_path))
    f.write_text('[sites.a]\nlat = 1\nlon = 1\nsensor = "HSI 01"\n')
    with pytest.raises(ConfigError, match="invalid sensor id 'HSI 01'"):
        load_config(f, workspace=Workspace(tmp_path))


def test_registry_region_from_the_command_line_cannot_leave_the_registry(tmp_path):
    home = workspace(tmp_path)
    before = snapshot(tmp_path, home)
    err = one_line_error(hsiwq(["models", "promote", "--region", "../../esc", "--version", "v1"],
                               home))
    assert "invalid region id '../../esc'" in err
    assert snapshot(tmp_path, home) == before


def test_the_rule_itself(tmp_path):
    for good in ("taihu-north", "a", "0", "x" * 64, "erhai-west-2"):
        assert check_id(good) == good
    for bad in ("", "-a", "A", "a_b", "a.b", "a/b", "..", "x" * 65, "é", "a b"):
        with pytest.raises(ValueError):
            check_id(bad)
    assert check_id("HSI-0001", "sensor") == "HSI-0001"
    assert suggest_id("Erhai_West") == "erhai-west" and suggest_id("../..") == ""
    # the bundled sample configuration follows it
    config, _ = load_config(None, workspace=Workspace(tmp_path / "empty"))
    assert sorted(config.sites) == ["taihu-north", "yangtze-nanjing"]
