"""Property-based tests (Hypothesis): configuration files and bundle metadata over generated
ids, times and paths raise nothing but the project's one-line errors (issue 17)."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsiwq.config import load_config
from hsiwq.errors import HsiwqError
from hsiwq.ids import is_id
from hsiwq.io.bundle import bundle_time, parse_meta_json, read_acquisition_meta
from hsiwq.workspace import Workspace

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

#: Ids: well-formed ones, near misses and arbitrary text (paths, unicode, long).
ids = st.one_of(st.from_regex(r"[a-z0-9][a-z0-9-]{0,70}", fullmatch=True),
                st.sampled_from(["../../esc", "Erhai_West", "/etc", "..", "a/b", "taihu", "global",
                                 "tahu", "洱海", "a" * 300, "", " ", "a\nb", "con", "-x"]),
                st.text(max_size=80))
paths = st.one_of(st.sampled_from(["../x", "a/../../b", "/tmp/x", "inbox/a", "s3://bucket/p",
                                   "s3://../x", "file:///tmp/x", "ftp://x", "memory://q", "",
                                   "..", "a\\..\\b", "~/x"]),
                  st.text(max_size=40))
times = st.one_of(st.datetimes().map(lambda t: t.isoformat()),
                  st.sampled_from(["2026-07-01T03:15:00Z", "2026-07-01", "9999-12-31T23:59:59-23:59",
                                   "0001-01-01T00:00:00+14:00", "2026-13-01T00:00:00Z", "now", ""]),
                  st.text(max_size=30))
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                    st.integers(min_value=10**300, max_value=10**400))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20))
json_values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                           st.dictionaries(st.text(max_size=8), kids,
                                                                           max_size=3)),
                           max_leaves=8)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # a TOML basic string (JSON escapes are TOML escapes)


site_tables = st.fixed_dictionaries(
    {"lat": st.one_of(st.floats(-100, 100), st.text(max_size=5)), "lon": st.floats(-200, 200)},
    optional={"region": ids, "sensor": ids, "timezone": st.sampled_from(["UTC", "Asia/Shanghai", "Mars/X"]),
              "schedule": st.sampled_from(["*/5 * * * *", "every 4 s", "bogus"]), "inbox": paths,
              "archive": paths, "quarantine": paths, "store": paths, "id": ids,
              "max_distance_km": st.floats(-1, 1e6)})


@SETTINGS
@given(sites=st.dictionaries(ids, site_tables, min_size=1, max_size=3),
       processing=st.fixed_dictionaries({}, optional={"max_cube_mb": numbers, "tile_rows": numbers}))
def test_config_loading_raises_only_one_line_errors(tmp_path, sites, processing):
    lines = []
    for key, table in sites.items():
        lines.append(f"[sites.{json.dumps(key)}]")
        lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    if processing:
        lines.append("[processing]")
        lines += [f"{k} = {_toml(v)}" for k, v in processing.items()]
    f = Path(tempfile.mkdtemp(dir=tmp_path)) / "sites.toml"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    ws = Workspace(tmp_path / "home")
    try:
        config, _ = load_config(f, workspace=ws)
    except HsiwqError as exc:
        assert "\n" not in str(exc) and str(f) in str(exc)
        return
    for sid, site in config.sites.items():
        assert is_id(sid) and is_id(site.region, "region")
        for p in (ws.inbox(sid), ws.archive(sid), ws.quarantine(sid), ws.store_path(sid)):
            assert ws.root in p.parents  # a path made of an id stays in the workspace
        for loc in (site.inbox, site.archive, site.quarantine, site.store):
            assert loc is None or ".." not in loc.replace("\\", "/").split("/")


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_config_bytes_raise_only_one_line_errors(tmp_path, raw):
    f = Path(tempfile.mkdtemp(dir=tmp_path)) / "sites.toml"
    f.write_bytes(raw)
    try:
        load_config(f, workspace=Workspace(tmp_path))
    except HsiwqError as exc:
        assert "\n" not in str(exc)


meta_docs = st.fixed_dictionaries(
    {}, optional={"site": st.one_of(ids, json_values), "sensor": st.one_of(ids, json_values),
                  "time": st.one_of(times, json_values),
                  "integration_ms": st.one_of(st.fixed_dictionaries(
                      {"water": numbers, "sky": numbers, "irradiance": numbers}), json_values),
                  "view": st.one_of(st.fixed_dictionaries({"zenith_deg": numbers, "azimuth_deg": numbers}),
                                    json_values),
                  "location": st.one_of(st.fixed_dictionaries({"lat": numbers, "lon": numbers}),
                                        json_values),
                  "ancillary": st.one_of(st.fixed_dictionaries({"wind_speed_ms": numbers}), json_values),
                  "extra": json_values})


@SETTINGS
@given(doc=st.one_of(meta_docs, json_values))
def test_bundle_metadata_raises_only_bundle_errors(tmp_path, doc):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        text = json.dumps(doc)
    except (ValueError, OverflowError):
        pytest.skip("not JSON")
    (folder / "acquisition.json").write_text(text)
    for read in (bundle_time, read_acquisition_meta):
        try:
            read(folder)
        except HsiwqError as exc:
            assert "\n" not in str(exc) and "acquisition.json" in str(exc)


@SETTINGS
@given(raw=st.binary(max_size=300))
def test_bundle_metadata_bytes_raise_only_bundle_errors(raw):
    try:
        parse_meta_json("x/acquisition.json", raw)
    except HsiwqError as exc:
        assert "\n" not in str(exc)
