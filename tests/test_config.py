"""Site configuration validation and the workspace."""

import pytest

from hsiwq.config import load_config
from hsiwq.errors import ConfigError
from hsiwq.workspace import Workspace


def test_default_config_has_the_sample_sites():
    config, path = load_config(None)
    assert {"taihu-north", "yangtze-nanjing"} <= set(config.sites)
    assert config.sites["taihu-north"].rules[0].above == 50.0


@pytest.mark.parametrize("text,msg", [
    ("[sites.a]\nlat = 100\nlon = 0\n", "sites.a.lat"),
    ("[sites.a]\nlat = 1\nlon = 0\ncolour = 'red'\n", "sites.a.colour"),
    ("[sites.a\n", "not valid TOML"),
    ("[sites.a]\nlat = 1\nlon = 0\n[[sites.a.rules]]\nparam = 'chl_a'\nabove = 5\nclear = 9\n", "hysteresis"),
])
def test_bad_config_names_file_and_key(tmp_path, text, msg):
    f = tmp_path / "sites.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert str(f) in str(err.value) and msg in str(err.value)
    assert "\n" not in str(err.value)


def test_workspace_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HSIWQ_HOME", str(tmp_path / "h"))
    ws = Workspace.resolve()
    assert ws.root == (tmp_path / "h").resolve()
    assert ws.store_path("x") == ws.root / "store" / "x.zarr"
    monkeypatch.setenv("HSIWQ_HOME", "")
    assert Workspace.resolve().root.name == ".hsiwq"
    assert Workspace.resolve(tmp_path).root == tmp_path.resolve()


@pytest.mark.parametrize("schedule,ok", [("*/2 * * * *", True), ("every 30 s", True), ("every 5 min", True),
                                         ("*/2 * * *", False), ("61 * * * *", False), ("hourly", False)])
def test_schedule_validation(tmp_path, schedule, ok):
    f = tmp_path / "sites.toml"
    f.write_text(f"[sites.a]\nlat = 1\nlon = 0\nschedule = '{schedule}'\n")
    if ok:
        assert load_config(f)[0].sites["a"].schedule == schedule
    else:
        with pytest.raises(ConfigError, match="sites.a.schedule"):
            load_config(f)
