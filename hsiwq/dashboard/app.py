"""The dashboard application: requests in, responses out (no sockets here; see ``server``).

Read-only over the workspace: it reads the sites' configured stores (folders or object-store
URLs, see :func:`hsiwq.inbox.site_locations`) and the alert state, and the only thing it
writes is the reports it renders on demand into ``<home>/reports/dashboard/``. Report names
are looked up in the whitelist of configured site ids, and every path it serves is resolved
and checked to lie inside that folder, so no request reaches another file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ..config import SitesConfig, load_config
from ..errors import HsiwqError, is_transient
from ..inbox import open_site_store
from ..params import PARAMETERS
from ..timeutil import try_parse_time
from ..workspace import Workspace

log = logging.getLogger(__name__)

COOKIE = "hsiwq_dashboard"
#: Site ids the dashboard accepts in URLs (also checked against the configuration).
SITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_REPORT_PATH = re.compile(r"^/report/([^/]+)\.html$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class Response:
    """An HTTP response."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        h = {"Content-Type": self.content_type, "Content-Length": str(len(self.body)),
             **SECURITY_HEADERS}
        h.update(self.headers)
        return h


def _text(status: HTTPStatus, message: str | None = None, **headers: str) -> Response:
    return Response(int(status), ((message or status.phrase) + "\n").encode(), headers=headers)


def _html(body: str) -> Response:
    return Response(200, body.encode("utf-8"), "text/html; charset=utf-8")


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    import ipaddress

    h = host.strip().strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False  # a host name, or "" (all interfaces): treat as reachable from outside


class Dashboard:
    """The dashboard over one workspace.

    Parameters
    ----------
    workspace : Workspace
        Whose stores, alerts and reports to use.
    config_path : path, optional
        Site configuration (default: the workspace's, else the bundled sample sites).
    token : str, optional
        When set, every request must carry it: ``Authorization: Bearer <token>``, the
        session cookie set after a visit with ``?token=<token>``, or that query.
    loopback : bool
        Whether the server listens on loopback only; then, without a token, requests must
        name a loopback host (a guard against DNS rebinding).
    """

    def __init__(self, workspace: Workspace, config_path: str | os.PathLike[str] | None = None, *,
                 token: str | None = None, loopback: bool = True) -> None:
        self.workspace = workspace
        self.config_path = config_path
        self.token = token or None
        self.loopback = loopback
        self.reports_dir = workspace.root / "reports" / "dashboard"
        self._locks: dict[str, threading.Lock] = {}
        self._status_cache: dict[str, tuple[str, dict[str, object]]] = {}
        self._map_cache: dict[str, tuple[str, str]] = {}
        self._locks_guard = threading.Lock()

    # --- configuration ------------------------------------------------------------------
    def config(self) -> tuple[SitesConfig, Path]:
        return load_config(self.config_path or self.workspace.config_file)

    # --- authentication -----------------------------------------------------------------
    def _session_value(self) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), b"hsiwq-dashboard-session", hashlib.sha256).hexdigest()

    def _authorised(self, headers: dict[str, str], query: dict[str, list[str]]) -> bool | None:
        """True with a valid token, False with a wrong one, None with none at all."""
        assert self.token is not None
        given: list[bool] = []
        auth = headers.get("authorization", "")
        if auth:
            scheme, _, value = auth.partition(" ")
            given.append(scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(),
                                                                           self.token.encode()))
        cookie = headers.get("cookie", "")
        if cookie:
            try:
                morsel = SimpleCookie(cookie).get(COOKIE)
            except CookieError:
                morsel = None
            if morsel is not None:
                given.append(hmac.compare_digest(morsel.value.encode(), self._session_value().encode()))
        for value in query.get("token", []):
            given.append(hmac.compare_digest(value.encode(), self.token.encode()))
        if not given:
            return None
        return any(given)

    # --- dispatch -----------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str]) -> Response:
        """Answer one request. ``headers`` are keyed in lower case."""
        if method not in ("GET", "HEAD"):
            return _text(HTTPStatus.METHOD_NOT_ALLOWED, "read-only: GET and HEAD only", Allow="GET, HEAD")
        if len(target) > 2048:
            return _text(HTTPStatus.REQUEST_URI_TOO_LONG)
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        if self.token is not None:
            ok = self._authorised(headers, query)
            if ok is None:
                return _text(HTTPStatus.UNAUTHORIZED, "a token is required (Authorization: Bearer "
                             "<token>, or ?token=<token> once)", **{"WWW-Authenticate": 'Bearer realm="hsiwq"'})
            if not ok:
                return _text(HTTPStatus.FORBIDDEN, "wrong token")
            if "token" in query:  # remember it in a cookie and drop it from the address bar
                return Response(int(HTTPStatus.SEE_OTHER), b"", headers={
                    "Location": parts.path if parts.path.startswith("/") else "/",
                    "Set-Cookie": f"{COOKIE}={self._session_value()}; HttpOnly; SameSite=Strict; Path=/"})
        elif self.loopback:
            host = headers.get("host", "")
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
            if name.lower() not in LOOPBACK_HOSTS:
                return _text(HTTPStatus.FORBIDDEN, "this dashboard answers to loopback host names only")
        try:
            path = unquote(parts.path, errors="strict")
        except UnicodeDecodeError:
            return _text(HTTPStatus.NOT_FOUND)
        try:
            return self._route(path)
        except HsiwqError as exc:
            log.warning("dashboard: %s", exc)
            return _text(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot render: {exc}")
        except Exception:  # noqa: BLE001  one line to the client, the traceback to the log
            log.exception("dashboard: error answering %s", path)
            return _text(HTTPStatus.INTERNAL_SERVER_ERROR)

    def _route(self, path: str) -> Response:
        if path in ("/", "/index.html"):
            return _html(self.index_html())
        if path == "/api/status.json":
            return Response(200, json.dumps(self.status(), ensure_ascii=False, indent=1).encode(),
                            "application/json; charset=utf-8")
        if path == "/compare.html":
            config, cfg_file = self.config()
            sites = [s for s in config.sites if self._store(config, s).exists()]
            if len(sites) < 2:
                return _text(HTTPStatus.NOT_FOUND, "fewer than two sites have data")
            return self._report_response("compare", sites, config, cfg_file)
        if path == "/favicon.ico":
            return Response(int(HTTPStatus.NO_CONTENT))
        m = _REPORT_PATH.match(path)
        if m:
            site = m.group(1)
            config, cfg_file = self.config()
            if not SITE_ID.match(site) or site not in config.sites \
                    or not self._store(config, site).exists():
                return _text(HTTPStatus.NOT_FOUND)
            return self._report_response(site, [site], config, cfg_file)
        return _text(HTTPStatus.NOT_FOUND)

    # --- reports ------------------------------------------------------------------------
    def _store(self, config: SitesConfig, site: str):
        """The site's configured store (a folder or an object-store URL)."""
        return open_site_store(site, config, self.workspace)

    def report_path(self, name: str) -> Path:
        """The cached report file of a whitelisted name, checked to lie in the reports folder."""
        if not SITE_ID.match(name):
            raise ValueError(f"bad report name {name!r}")
        base = self.reports_dir.resolve()
        path = (base / f"{name}.html").resolve()
        if not path.is_relative_to(base) or path.parent != base:
            raise ValueError(f"report {name!r} would leave {base}")
        return path

    def _signature(self, config: SitesConfig, sites: list[str]) -> str:
        """Changes whenever a store or the alert state of these sites changes."""
        stamps: list[str] = []
        for s in sites:
            try:
                stamps.append(f"{s}:{self._store(config, s).revision()}")
            except Exception as exc:  # noqa: BLE001  unreachable: never taken for unchanged
                if not is_transient(exc):
                    raise
                stamps.append(f"{s}:unreachable:{time.time_ns()}")
        for root in (self.workspace.alerts_dir, self.workspace.alerts_dir / "outbox" / "sent"):
            stamps.append(f"{root.name}:{_tree_stamp(root)}")
        cfg = self.config_path or self.workspace.config_file
        stamps.append(f"config:{_mtime(Path(cfg))}")
        return hashlib.sha256("|".join(stamps).encode()).hexdigest()

    def _report_response(self, name: str, sites: list[str], config: SitesConfig, cfg_file: Path) -> Response:
        with self._locks_guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            path = self.report_path(name)
            sig_path = path.with_name(path.name + ".sig")
            sig = self._signature(config, sites)
            fresh = path.is_file() and sig_path.is_file() and sig_path.read_text() == sig
            if not fresh:
                from ..report import Period, build_report, write_report

                t0 = time.perf_counter()
                html = build_report(self.workspace, config, [Period(s) for s in sites],
                                    back_link="/", config_file=cfg_file)
                write_report(html, path)
                write_report(sig, sig_path)
                log.info("dashboard: rendered %s in %.1f s", path.name, time.perf_counter() - t0)
            return Response(200, path.read_bytes(), "text/html; charset=utf-8")

    # --- index --------------------------------------------------------------------------
    def status(self) -> dict[str, object]:
        """Latest values and alerts of every configured site (also ``/api/status.json``).

        A site's entry is read again only when its store, the alert state or the
        configuration changed.
        """
        config, _ = self.config()
        sites = []
        for sid, site in config.sites.items():
            sig = self._signature(config, [sid])
            with self._locks_guard:
                cached = self._status_cache.get(sid)
            if cached is None or cached[0] != sig:
                cached = (sig, self._site_status(config, sid, site))
                with self._locks_guard:
                    self._status_cache[sid] = cached
            sites.append(cached[1])
        return {"generated": datetime.now(timezone.utc).isoformat(timespec="seconds"), "sites": sites}

    def _site_status(self, config: SitesConfig, sid: str, site) -> dict[str, object]:
        import numpy as np

        from ..report.data import read_alerts
        from ..report.indicators import class_limits, gb_class, tli, tli_class

        entry: dict[str, object] = {"id": sid, "name": site.name or sid, "waterbody": site.waterbody,
                                    "has_data": False, "values": {}, "alerts": []}
        store = self._store(config, sid)
        try:
            ds = store.read(quantities=list(PARAMETERS), with_rrs=False) if store.exists() else None
        except Exception as exc:  # noqa: BLE001  an unreachable store: the site shows no data
            if not is_transient(exc):
                raise
            log.warning("dashboard: store of %s unreachable: %s", sid, exc)
            ds = None
        if ds is not None and ds.sizes.get("time", 0):
            t = ds["time"].values
            entry.update({"has_data": True, "latest_time": _iso(t[-1]),
                          "latest_verdict": str(ds["verdict"].values[-1]),
                          "latest_reason": str(ds["reason"].values[-1]) if "reason" in ds else "",
                          "n_acquisitions": int(t.size)})
            values: dict[str, dict[str, object]] = {}
            latest: dict[str, list[float]] = {}
            for pid, p in PARAMETERS.items():
                v = ds[pid].values.astype(float)
                ok = np.flatnonzero(np.isfinite(v))
                if ok.size:
                    i = int(ok[-1])
                    limits, _ = class_limits(pid, site.waterbody)
                    latest[pid] = [float(v[i])]
                    values[pid] = {"value": float(v[i]), "unit": p.unit, "time": _iso(t[i]),
                                   "class": gb_class(float(v[i]), limits)}
            entry["values"] = values
            idx, _ = tli(latest)
            if idx.size and math.isfinite(idx[0]):
                entry["tli"] = {"value": round(float(idx[0]), 1), "class": tli_class(float(idx[0]))}
        info = read_alerts(self.workspace, config, sid)
        last_firing = {e.rule: e for e in info.events if e.status == "firing"}
        for rule, st in sorted(info.states.items()):
            if st.get("status") in ("firing", "pending"):
                ev = last_firing.get(rule)
                entry["alerts"].append({"rule": rule, "status": st.get("status"), "since": st.get("since"),
                                        "last_value": st.get("last_value"),
                                        "severity": ev.severity if ev else (st.get("severity") or ""),
                                        "message": ev.message if ev else ""})
        return entry

    def latest_map(self, config: SitesConfig, sid: str) -> str:
        """A PNG data URI of the site's latest chl-a map ("" when it has none), cached until
        its store changes."""
        sig = self._signature(config, [sid])
        with self._locks_guard:
            hit = self._map_cache.get(sid)
        if hit is not None and hit[0] == sig:
            return hit[1]
        from ..maps.chain import extent_thresholds
        from ..maps.dataset import to_dataset
        from ..maps.figures import map_figure
        from ..report.figures import MAP_SCALES, drawing, to_data_uri
        from ..store.maps import MapStore

        site, uri = config.sites[sid], ""
        try:
            m = MapStore(self._store(config, sid).objects).read()
        except Exception as exc:  # noqa: BLE001  no map is not an error
            if not is_transient(exc):
                raise
            m = None
        if m is not None and "chl_a" in m.params:
            ds = to_dataset(m, 0, ["chl_a"], site=sid)
            with drawing():
                uri = to_data_uri(map_figure(ds, "chl_a", MAP_SCALES["chl_a"], roi=site.roi,
                                             thresholds=extent_thresholds(site.maps, site.rules).get("chl_a", []),
                                             width=4.6))
        with self._locks_guard:
            self._map_cache[sid] = (sig, uri)
        return uri

    def index_html(self) -> str:
        from ..report.html import CSS, class_chip, fmt_value

        st = self.status()
        config, _ = self.config()
        sites = st["sites"]
        firing = [(s, a) for s in sites for a in s["alerts"] if a["status"] == "firing"]
        with_data = [s for s in sites if s["has_data"]]
        out = []
        out.append(f'<section id="firing"><h2>Alerts firing ({len(firing)})</h2>')
        if firing:
            out.append('<ul class="alerts">')
            for s, a in firing:
                msg = a["message"] or f"{a['rule']} firing since {a['since']}"
                out.append(f'<li class="alert" data-site="{escape(s["id"])}" data-rule="{escape(a["rule"])}">'
                           f'<span class="badge firing">firing</span> <b>{escape(s["id"])}</b> · '
                           f'{escape(a["rule"])}: {escape(msg)}</li>')
            out.append("</ul>")
        else:
            out.append("<p>No alert is firing.</p>")
        out.append("</section>")
        out.append('<section id="sites"><h2>Sites</h2><div class="grid">')
        for s in sites:
            sid = s["id"]
            card = [f'<div class="card site" id="site-{escape(sid)}" data-site="{escape(sid)}">'
                    f'<h3>{escape(s["name"])} <small class="meta">{escape(sid)} · {escape(s["waterbody"])}</small></h3>']
            if not s["has_data"]:
                card.append("<p>No data yet.</p></div>")
                out.append("".join(card))
                continue
            reason = f" ({s['latest_reason']})" if s.get("latest_reason") else ""
            card.append(f'<p>Newest acquisition {escape(_fmt_iso(s["latest_time"]))}: '
                        f'{escape(s["latest_verdict"] + reason)} · {s["n_acquisitions"]} stored</p>')
            for a in s["alerts"]:
                card.append(f'<p><span class="badge {escape(a["status"])}">{escape(a["status"])}</span> '
                            f'{escape(a["rule"])}{escape(" since " + _fmt_iso(a["since"]) if a["since"] else "")}</p>')
            rows = []
            for pid, p in PARAMETERS.items():
                v = s["values"].get(pid)
                cell = (f"{escape(fmt_value(v['value'], p.unit))} {class_chip(v['class'])}" if v else "–")
                rows.append(f"<tr><td>{escape(p.name)}</td><td class=num>{cell}</td></tr>")
            tli_row = s.get("tli")
            rows.append("<tr><td>TLI(Σ)</td><td class=num>"
                        + (escape(f"{tli_row['value']:.1f} – {tli_row['class']}") if tli_row else "–")
                        + "</td></tr>")
            card.append('<div class="table-wrap"><table>' + "".join(rows) + "</table></div>")
            uri = self.latest_map(config, sid)
            if uri:
                card.append(f'<figure class="latest-map"><img src="{uri}" alt="latest chl-a map of '
                            f'{escape(sid)}" style="max-width:100%"><figcaption>Latest chl-a map '
                            "(block medians; dashed: ROI; red: extent thresholds)</figcaption></figure>")
            card.append(f'<p><a class="button" href="/report/{escape(sid)}.html">Report: {escape(sid)}</a></p></div>')
            out.append("".join(card))
        out.append("</div></section>")
        links = ('<p><a class="button" href="/compare.html">Compare all sites side by side</a></p>'
                 if len(with_data) >= 2 else "")
        extra_css = (".alerts{padding-left:1.2em}.alert{margin:.3em 0}"
                     ".button{display:inline-block;padding:6px 12px;border-radius:4px;background:#1f4e79;"
                     "color:#fff;text-decoration:none}")
        return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
                '<meta http-equiv="refresh" content="60">'
                f"<title>hsiwq dashboard</title><style>{CSS}{extra_css}</style></head><body>"
                f"<header><h1>hsiwq dashboard</h1><p class=meta>{len(sites)} sites · "
                f"{len(firing)} alert{'s' if len(firing) != 1 else ''} firing · read-only · "
                f"updated {escape(_fmt_iso(st['generated']))} (refreshes every minute)</p>"
                f"{links}</header><main>" + "".join(out) + "</main></body></html>\n")


def _iso(t) -> str:
    import numpy as np

    return str(np.datetime64(t, "s")) + "Z"


def _fmt_iso(text: str | None) -> str:
    if not text:
        return "–"
    t = try_parse_time(str(text))
    if t is None:
        return str(text)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _tree_stamp(root: Path) -> str:
    """Newest modification time and entry count in a folder, two levels deep."""
    newest, count = _mtime(root), 0
    try:
        level = [root]
        for _ in range(2):
            nxt = []
            for d in level:
                with os.scandir(d) as it:
                    for e in it:
                        count += 1
                        try:
                            newest = max(newest, e.stat(follow_symlinks=False).st_mtime_ns)
                        except OSError:
                            continue
                        if e.is_dir(follow_symlinks=False):
                            nxt.append(Path(e.path))
            level = nxt
    except OSError:
        pass
    return f"{newest}:{count}"
