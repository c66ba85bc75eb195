"""The dashboard: contents, tokens off loopback, path traversal, no writes outside the
workspace, and a real headless Chromium loading it."""

from __future__ import annotations

import hashlib
import http.client
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hsiwq.dashboard import Dashboard, is_loopback
from hsiwq.workspace import Workspace

from .test_report import assert_self_contained, build_sample_home

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "s3cret-token-for-tests-0123456789"
LOOPBACK = {"host": "127.0.0.1:8765"}

TRAVERSALS = [
    "/report/../../etc/passwd",
    "/report/../../../../../../etc/passwd.html",
    "/report/%2e%2e/%2e%2e/etc/passwd",
    "/report/%2e%2e%2f%2e%2e%2fetc%2fpasswd.html",
    "/report/..%2f..%2f..%2fetc%2fpasswd.html",
    "/report/%252e%252e%252f%252e%252e%252fetc%252fpasswd.html",
    "/report/..%5c..%5cetc%5cpasswd.html",
    "/report/....//....//etc/passwd.html",
    "/report/taihu-north.html/../../../etc/passwd",
    "/report/taihu-north.html%00.txt",
    "/report/%00.html",
    "/report//etc/passwd.html",
    "/report/.html",
    "/report/nowhere.html",
    "/report/TAIHU-NORTH.html",
    "/../../etc/passwd",
    "//etc/passwd",
    "/etc/passwd",
    "/report/%c0%ae%c0%ae/etc/passwd.html",
    "/reports/dashboard/taihu-north.html",
    "/store/taihu-north.zarr/zarr.json",
]


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory) -> Workspace:
    return build_sample_home(tmp_path_factory.mktemp("dashboard") / "home")


# --- the application, in process ----------------------------------------------------------
def test_index_lists_sites_latest_values_and_firing_alerts(sample_ws):
    resp = Dashboard(sample_ws).handle("GET", "/", LOOPBACK)
    assert resp.status == 200
    html = resp.body.decode()
    assert "http://" not in html and "https://" not in html  # nothing outside is referenced
    for site in ("taihu-north", "yangtze-nanjing"):
        assert f'data-site="{site}"' in html and f'href="/report/{site}.html"' in html
    assert 'class="alert" data-site="taihu-north" data-rule="chl-bloom"' in html
    assert "chlorophyll-a 54.3" in html or "54.3" in html
    assert "Content-Security-Policy" in resp.all_headers()
    status = Dashboard(sample_ws).status()
    taihu = next(s for s in status["sites"] if s["id"] == "taihu-north")
    assert [a["rule"] for a in taihu["alerts"]] == ["chl-bloom"] and taihu["alerts"][0]["status"] == "firing"
    assert taihu["values"]["chl_a"]["value"] > 50


def test_reports_render_on_demand_into_the_workspace(sample_ws):
    app = Dashboard(sample_ws)
    first = app.handle("GET", "/report/taihu-north.html", LOOPBACK)
    assert first.status == 200 and first.content_type.startswith("text/html")
    html = first.body.decode()
    assert_self_contained(html)
    assert 'href="/"' in html  # back to the dashboard
    cached = sample_ws.root / "reports" / "dashboard" / "taihu-north.html"
    mtime = cached.stat().st_mtime_ns
    again = app.handle("GET", "/report/taihu-north.html", LOOPBACK)
    assert again.body == first.body and cached.stat().st_mtime_ns == mtime  # not rendered twice
    both = app.handle("GET", "/compare.html", LOOPBACK)
    assert both.status == 200 and b'data-source="yangtze-nanjing"' in both.body


@pytest.mark.parametrize("target", TRAVERSALS)
def test_path_traversal_is_not_found(sample_ws, target):
    resp = Dashboard(sample_ws).handle("GET", target, LOOPBACK)
    assert resp.status == 404, (target, resp.status)
    assert b"root:" not in resp.body


def test_read_only_and_loopback_host_names(sample_ws):
    app = Dashboard(sample_ws)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert app.handle(method, "/", LOOPBACK).status == 405
    assert app.handle("GET", "/", {"host": "evil.example:8765"}).status == 403  # DNS rebinding
    assert app.handle("GET", "/", {"host": "localhost:8765"}).status == 200
    with pytest.raises(ValueError):
        app.report_path("../../etc/passwd")


def test_token_is_required_when_set(sample_ws):
    app = Dashboard(sample_ws, token=TOKEN, loopback=False)
    assert app.handle("GET", "/", {}).status == 401
    assert app.handle("GET", "/report/taihu-north.html", {}).status == 401
    assert app.handle("GET", "/", {"authorization": "Bearer wrong"}).status == 403
    assert app.handle("GET", "/", {"cookie": "hsiwq_dashboard=forged"}).status == 403
    assert app.handle("GET", "/", {"authorization": f"Bearer {TOKEN}"}).status == 200
    visit = app.handle("GET", f"/?token={TOKEN}", {})
    assert visit.status == 303 and visit.headers["Location"] == "/"
    cookie = visit.headers["Set-Cookie"].split(";")[0]
    assert TOKEN not in cookie and "HttpOnly" in visit.headers["Set-Cookie"]
    assert app.handle("GET", "/", {"cookie": cookie}).status == 200
    # traversal stays 404 for an authorised client too
    assert app.handle("GET", "/report/../../etc/passwd", {"cookie": cookie}).status == 404


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("example.org")
    assert not is_loopback("192.168.1.10") and not is_loopback("::")


# --- the real server ----------------------------------------------------------------------
def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLCONFIGDIR", "HSIWQ_DASHBOARD_TOKEN", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    env.update({"HSIWQ_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}, **extra)
    return env


class Server:
    """``hsiwq dashboard`` in a subprocess on a free port."""

    def __init__(self, home: Path, *args: str, cwd: Path | None = None, **env: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "hsiwq", "dashboard", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=_env(home, **env), cwd=cwd)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout], daemon=True).start()
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            self.stop()
            raise AssertionError("the dashboard did not start: " + self.proc.stderr.read()) from None
        assert "serving http://" in first, first
        self.url = first.split("serving ", 1)[1].split()[0]
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", path, headers=headers or {})  # the path is sent as it is
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def test_off_loopback_refuses_to_start_without_a_token(sample_ws):
    for args in (["--host", "0.0.0.0"], ["--host", "example.org"], ["--host", "0.0.0.0", "--token", "short"]):
        proc = subprocess.run([sys.executable, "-m", "hsiwq", "dashboard", *args], capture_output=True,
                              text=True, env=_env(sample_ws.root), timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "token" in proc.stderr and "Traceback" not in proc.stderr


def test_off_loopback_requires_the_token_on_every_request(sample_ws):
    with Server(sample_ws.root, "--host", "0.0.0.0", HSIWQ_DASHBOARD_TOKEN=TOKEN) as srv:
        assert srv.get("/")[0] == 401
        assert srv.get("/report/taihu-north.html")[0] == 401
        assert srv.get("/", {"Authorization": "Bearer not-the-token"})[0] == 403
        status, body = srv.get("/", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and b"taihu-north" in body
        for target in TRAVERSALS[:8]:
            assert srv.get(target, {"Authorization": f"Bearer {TOKEN}"})[0] == 404, target


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_the_dashboard_never_writes_outside_the_workspace(sample_ws, tmp_path):
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(sample_ws.root, ws.root, ignore=shutil.ignore_patterns("reports", "cache"))
    home, cwd, tmp = (tmp_path / n for n in ("user-home", "cwd", "tmpdir"))
    for d in (home, cwd, tmp):
        d.mkdir()
    before_ws = _snapshot(ws.root)
    before_all = {p for p in _snapshot(tmp_path) if not p.startswith("ws/")}
    with Server(ws.root, cwd=cwd, HOME=str(home), TMPDIR=str(tmp)) as srv:
        for target in ["/", "/report/taihu-north.html", "/report/yangtze-nanjing.html", "/compare.html",
                       "/api/status.json", *TRAVERSALS]:
            status, _ = srv.get(target, {"Host": f"127.0.0.1:{srv.port}"})
            assert status in (200, 404), (target, status)
    after_ws = _snapshot(ws.root)
    after_all = {p for p in _snapshot(tmp_path) if not p.startswith("ws/")}
    assert after_all == before_all, sorted(after_all - before_all)
    for d in (home, cwd, tmp):
        assert not any(d.iterdir()), f"the dashboard wrote into {d}: {list(d.iterdir())}"
    # in the workspace: the store, alert state and outbox are untouched; new files are reports
    # (and matplotlib's font cache) only
    assert {k: v for k, v in after_ws.items() if k in before_ws} == before_ws
    new = sorted(set(after_ws) - set(before_ws))
    assert new and all(p.startswith(("reports/dashboard/", "cache/matplotlib/")) for p in new), new
    assert "reports/dashboard/taihu-north.html" in new


# --- a real browser -----------------------------------------------------------------------
def _chromium_or_skip() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("/usr/bin/chromium is missing in CI (.ci/run installs Debian's chromium)")
    pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium); CI installs it")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
           f"--user-data-dir={profile}", *args]
    env = dict(os.environ, HOME=str(tmp_path / "chromium-home"))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)


def test_headless_chromium_sees_sites_and_the_firing_alert(sample_ws, tmp_path):
    _chromium_or_skip()
    with Server(sample_ws.root) as srv:
        dom = _chromium(tmp_path, "--dump-dom", srv.url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        html = dom.stdout
        assert 'id="site-taihu-north"' in html and 'id="site-yangtze-nanjing"' in html
        assert 'class="alert" data-site="taihu-north" data-rule="chl-bloom"' in html
        assert "firing" in html
        shot = tmp_path / "dashboard.png"
        res = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1000", srv.url)
        assert res.returncode == 0, res.stderr[-2000:]
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
        report = _chromium(tmp_path, "--dump-dom", srv.url + "report/taihu-north.html")
        assert report.returncode == 0 and 'id="alerts"' in report.stdout
        assert report.stdout.count('data-param="') == 11
