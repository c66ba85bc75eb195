"""Reports rendered from the sample data: contents, self-containment, comparisons, CLI."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from hsiwq.config import load_config
from hsiwq.params import PARAMETER_IDS
from hsiwq.pipeline import process_bundle
from hsiwq.report import Period, build_report, write_report
from hsiwq.report.indicators import class_limits, gb_class, tli, tli_class
from hsiwq.schedule import expected_times
from hsiwq.workspace import Workspace

from .conftest import cli_env, sample_bundles

SITES = ("taihu-north", "yangtze-nanjing")
UTC = timezone.utc


def build_sample_home(root: Path) -> Workspace:
    """Process every sample bundle of both sites into a workspace at ``root``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HSIWQ_HOME", str(root))
        mp.delenv("HSIWQ_CALIBRATION", raising=False)
        config, _ = load_config(None)
        ws = Workspace.resolve()
        for site in SITES:
            for bundle in sample_bundles(site):
                process_bundle(bundle, config.sites[site], config, ws)
    return ws


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory) -> Workspace:
    return build_sample_home(tmp_path_factory.mktemp("report") / "home")


@pytest.fixture(scope="module")
def config():
    return load_config(None)[0]


class _Page(HTMLParser):
    """Every tag with its attributes, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def assert_self_contained(html: str) -> _Page:
    """No request can leave the page: images are data URIs, nothing external is referenced."""
    page = parse(html)
    urls = [(tag, k, v) for tag, attrs in page.tags for k, v in attrs.items()
            if k in ("src", "href", "srcset", "action", "poster", "data", "formaction", "background")]
    external = [u for u in urls if re.match(r"\s*(https?:)?//", u[2], re.IGNORECASE)]
    assert external == [], external
    assert not re.search(r"https?://", html), "an http(s):// URL appears in the page"
    imgs = [attrs for tag, attrs in page.tags if tag == "img"]
    assert imgs, "no image"
    for attrs in imgs:
        assert attrs["src"].startswith("data:image/png;base64,"), attrs["src"][:60]
        png = base64.b64decode(attrs["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "object", "embed")]
    css = "".join(page.styles)
    assert "url(" not in css and "@import" not in css
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]
    return page


def figures(page: _Page, **data: str) -> list[dict[str, str]]:
    return [a for t, a in page.tags if t == "figure"
            and all(a.get(f"data-{k}") == v for k, v in data.items())]


def section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m, f"no section {sid}"
    return m.group(1)


# --- one site -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def taihu_html(sample_ws, config) -> str:
    return build_report(sample_ws, config, [Period("taihu-north")])


def test_report_is_self_contained(taihu_html):
    assert_self_contained(taihu_html)


def test_every_parameter_is_plotted(taihu_html):
    page = parse(taihu_html)
    for pid in PARAMETER_IDS:
        figs = figures(page, param=pid)
        assert len(figs) == 1, pid
    params = section(taihu_html, "parameters")
    assert params.count("<img ") == len(PARAMETER_IDS)
    # parameters without values say so instead of disappearing
    assert "estimated" in params


def test_sections_show_what_the_issue_asks(taihu_html):
    assert "chl-bloom" in section(taihu_html, "summary")  # the firing alert, at a glance
    alerts = section(taihu_html, "alerts")
    assert "<img " in alerts and "chl-bloom" in alerts and ">firing<" in alerts
    assert "2026-07-21 03:45 UTC" in alerts  # when it fired
    tli_s = section(taihu_html, "tli")
    assert "<img " in tli_s and "chl_a, secchi" in tli_s
    maps = section(taihu_html, "maps")
    assert "<img " in maps and 'alt="parameter maps at taihu-north"' in maps  # the chain's maps
    assert "not stored" not in maps and "too few valid" in maps
    spectra = section(taihu_html, "spectra")
    assert "<img " in spectra and "accepted" in spectra and "valid ROI" in spectra
    comp = section(taihu_html, "completeness")
    assert "<img " in comp and "expected at the cadence" in comp and "rejected share" in comp
    models = section(taihu_html, "models")
    assert "saa-lee1999:taihu" in models and "dogliotti2015" in models
    assert "Registry metadata" in models
    summary = section(taihu_html, "summary")
    assert "hypereutrophic" in summary or "eutrophic" in summary


def test_single_report_via_cli(sample_ws, tmp_path):
    out = tmp_path / "out" / "report.html"
    proc = subprocess.run([sys.executable, "-m", "hsiwq", "report", "--site", "yangtze-nanjing",
                           "--start", "2026-07-22", "--end", "2026-07-22", "--out", str(out)],
                          capture_output=True, text=True, env=cli_env(sample_ws.root), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    html = out.read_text(encoding="utf-8")
    page = assert_self_contained(html)
    assert len(figures(page, param="chl_a")) == 1
    # river: GB 3838 sets no TN limit, and TP uses the river limits
    assert "TN limits for lakes and reservoirs only" in html
    assert "TP limits for rivers" in html


# --- comparisons --------------------------------------------------------------------------
def test_two_sites_side_by_side(sample_ws, config, tmp_path):
    html = build_report(sample_ws, config, [Period(s) for s in SITES])
    path = write_report(html, tmp_path / "compare.html")
    page = assert_self_contained(path.read_text(encoding="utf-8"))
    for pid in PARAMETER_IDS:
        assert {f["data-source"] for f in figures(page, param=pid)} == set(SITES), pid
    for sid in ("tli", "spectra", "alerts", "completeness", "maps"):
        for site in SITES:
            assert f'data-source="{site}"' in section(html, sid), (sid, site)
    assert "saa-lee1999:yangtze" in section(html, "models")


def test_two_periods_of_one_site_via_cli(sample_ws, tmp_path):
    out = tmp_path / "periods.html"
    proc = subprocess.run([sys.executable, "-m", "hsiwq", "report", "--site", "taihu-north",
                           "--start", "2026-07-21T02:30Z", "--end", "2026-07-21T06:00Z",
                           "--compare-period", "2026-07-21T00:00Z", "2026-07-21T02:30Z",
                           "--out", str(out)],
                          capture_output=True, text=True, env=cli_env(sample_ws.root), timeout=300)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    page = assert_self_contained(html)
    labels = {f["data-source"] for f in figures(page, param="chl_a")}
    assert labels == {"taihu-north · 2026-07-21 02:30 – 2026-07-21 06:00",
                      "taihu-north · 2026-07-21 00:00 – 2026-07-21 02:30"}
    # the alert fired at 03:45: in the first period's timeline, not in the second's
    alerts = section(html, "alerts")
    assert alerts.count("No alert notification in this period") == 1


@pytest.mark.parametrize("args,expect", [
    (["--site", "nowhere"], "unknown site 'nowhere'"),
    (["--site", "taihu-north", "--start", "yesterday"], "--start: 'yesterday' is not an ISO 8601"),
    (["--site", "taihu-north", "--start", "2026-07-22", "--end", "2026-07-21"], "ends"),
    (["--site", "taihu-north", "--site", "yangtze-nanjing", "--compare-period", "2026-07-21",
      "2026-07-22"], "one --site"),
])
def test_cli_errors_are_one_line(sample_ws, tmp_path, args, expect):
    proc = subprocess.run([sys.executable, "-m", "hsiwq", "report", *args, "--out", str(tmp_path / "r.html")],
                          capture_output=True, text=True, env=cli_env(sample_ws.root), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert expect in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.html").exists()


def test_site_without_store_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "hsiwq", "report", "--site", "taihu-north",
                           "--out", str(tmp_path / "r.html")],
                          capture_output=True, text=True, env=cli_env(tmp_path / "empty"), timeout=120)
    assert proc.returncode == 2 and "no results stored" in proc.stderr, proc.stderr


# --- maps ---------------------------------------------------------------------------------
def test_maps_figure_over_rgb():
    import xarray as xr

    from hsiwq.report import figures as F

    y, x = np.mgrid[0:64, 0:64]
    maps = xr.Dataset({"chl_a": (("y", "x"), 5 + 80 * np.exp(-((x - 40) ** 2 + (y - 20) ** 2) / 300.0)),
                       "tss": (("y", "x"), 20.0 + x),
                       "rgb": (("cube_y", "cube_x", "band"), np.full((48, 64, 3), 0.5))})
    with F.drawing():
        uri = F.maps_figure(maps)
    assert base64.b64decode(uri.split(",", 1)[1])[:4] == b"\x89PNG"


def test_stored_maps_are_shown(tmp_path, config):
    """When the store keeps maps, the report draws the newest ones instead of the spectrum."""
    import inspect

    from hsiwq.store import Record, SiteStore

    if "maps" not in {f for f in getattr(Record, "__dataclass_fields__", {})} \
            or "with_maps" not in inspect.signature(SiteStore.read).parameters:
        pytest.skip("this hsiwq.store keeps no parameter maps")
    ws = Workspace(tmp_path / "home")
    wl = np.linspace(400, 900, 50)
    y, x = np.mgrid[0:32, 0:32]
    for i in range(3):
        SiteStore(ws.store_path("taihu-north")).write(Record(
            time=datetime(2026, 7, 21, i, tzinfo=UTC),
            values={"chl_a": 10.0 + i, "valid_fraction": 0.9},
            labels={"verdict": "accepted"}, rrs=np.full(50, 0.01), wavelength=wl,
            maps={"chl_a": 10.0 + i + x, "tss": 20.0 + y}))
    html = build_report(ws, config, [Period("taihu-north")])
    assert_self_contained(html)
    maps = section(html, "maps")
    assert "maps at 2026-07-21 02:00:00 UTC" in maps and "not stored" not in maps


# --- science helpers ----------------------------------------------------------------------
def test_tli_follows_the_formulas():
    # chl-a only: TLI(chl) = 10 (2.5 + 1.086 ln chl)
    idx, n = tli({"chl_a": np.array([10.0])})
    assert idx[0] == pytest.approx(10 * (2.5 + 1.086 * np.log(10.0))) and n[0] == 1
    # all five, weights r²/Σr²
    v = {"chl_a": 20.0, "tp": 0.1, "tn": 1.5, "secchi": 0.5, "cod_mn": 5.0}
    terms = {"chl_a": (2.5, 1.086, 1.0), "tp": (9.436, 1.624, 0.84), "tn": (5.453, 1.694, 0.82),
             "secchi": (5.118, -1.94, -0.83), "cod_mn": (0.109, 2.661, 0.83)}
    w = {k: r * r for k, (_, _, r) in terms.items()}
    expected = sum(w[k] * 10 * (a + b * np.log(v[k])) for k, (a, b, _) in terms.items()) / sum(w.values())
    idx, n = tli({k: np.array([x]) for k, x in v.items()})
    assert idx[0] == pytest.approx(expected) and n[0] == 5
    # missing components are left out row by row; no chlorophyll, no index
    idx, n = tli({"chl_a": np.array([10.0, np.nan]), "secchi": np.array([np.nan, 1.0])})
    assert n.tolist() == [1, 0] and np.isnan(idx[1])
    assert [tli_class(x) for x in (29.9, 30, 50, 50.1, 60, 70, 70.1)] == [
        "oligotrophic", "mesotrophic", "mesotrophic", "light eutrophic", "light eutrophic",
        "middle eutrophic", "hypereutrophic"]


def test_gb3838_classes():
    lake_tp, _ = class_limits("tp", "lake")
    river_tp, _ = class_limits("tp", "river")
    assert lake_tp == (0.01, 0.025, 0.05, 0.1, 0.2) and river_tp == (0.02, 0.1, 0.2, 0.3, 0.4)
    assert class_limits("tn", "river")[0] is None and class_limits("chl_a", "lake")[0] is None
    assert [gb_class(v, lake_tp) for v in (0.005, 0.01, 0.03, 0.2, 0.21)] == ["I", "I", "III", "V", "worse than V"]
    assert gb_class(float("nan"), lake_tp) == ""


def test_expected_acquisitions_of_a_schedule():
    t0, t1 = np.datetime64("2026-07-21T00:45"), np.datetime64("2026-07-21T05:15")
    assert expected_times("*/2 * * * *", t0, t1).size == 135  # even minutes 00:46 … 05:14
    assert expected_times("every 90 s", np.datetime64("2026-07-21T00:00"),
                          np.datetime64("2026-07-21T01:00")).size == 41
    mondays = expected_times("0 9 * * mon", np.datetime64("2026-07-01"), np.datetime64("2026-07-31"))
    assert [str(t) for t in mondays] == ["2026-07-06T09:00:00", "2026-07-13T09:00:00",
                                         "2026-07-20T09:00:00", "2026-07-27T09:00:00"]
    assert expected_times("not a schedule", t0, t1) is None


def test_models_in_service_from_either_label_form(config):
    import xarray as xr

    from hsiwq.report.data import models_in_service

    t = np.array(["2026-07-01T00:00", "2026-07-01T01:00", "2026-07-01T02:00"], dtype="datetime64[ns]")
    joined = xr.Dataset({"model_version": ("time", np.array(["chl_a=a;tss=b", "chl_a=a;tss=b", "chl_a=c"], object))},
                        coords={"time": t})
    per_param = xr.Dataset({"chl_a_model": ("time", np.array(["a", "a", "c"], object)),
                            "tss_model": ("time", np.array(["b", "b", ""], object))}, coords={"time": t})
    for ds in (joined, per_param):
        models, note = models_in_service(ds, config.sites["taihu-north"], Workspace(Path("/nonexistent")))
        assert [(m.by_parameter, m.n) for m in models] == [({"chl_a": "c"}, 1), ({"chl_a": "a", "tss": "b"}, 2)]
        assert models[1].first == t[0] and models[1].last == t[1]
        assert note.startswith("none")

