"""`hsiwq status`: last acquisition, last valid, backlog, quarantine, firing alerts."""

import shutil

from hsiwq.config import load_config
from hsiwq.inbox import quarantine
from hsiwq.pipeline import process_bundle
from hsiwq.status import site_status
from hsiwq.workspace import Workspace

from .conftest import sample_bundles


def test_status_per_site(home):
    config, _ = load_config(None)
    ws = Workspace.resolve()
    for b in sample_bundles("taihu-north"):
        process_bundle(b, config.sites["taihu-north"], config, ws)
    inbox = ws.inbox("yangtze-nanjing")
    inbox.mkdir(parents=True)
    for b in sample_bundles("yangtze-nanjing")[:2]:
        shutil.copytree(b, inbox / b.name)
    bad = inbox / "bad"
    shutil.copytree(sample_bundles("yangtze-nanjing")[2], bad)
    quarantine(bad, ws.quarantine("yangtze-nanjing"), "test")
    by_site = {s.site: s for s in site_status(config, ws)}
    taihu, yangtze = by_site["taihu-north"], by_site["yangtze-nanjing"]
    assert taihu.records == 4 and taihu.backlog == 0
    assert taihu.last_acquisition.isoformat() == "2026-07-21T05:15:00+00:00"
    assert taihu.last_valid == taihu.last_acquisition
    assert taihu.firing and taihu.firing[0].startswith("chl-bloom firing")
    assert yangtze.records == 0 and yangtze.backlog == 2 and yangtze.quarantined == 1
    assert yangtze.last_acquisition is None and not yangtze.firing


def test_one_broken_store_does_not_hide_the_others(home):
    """A site whose store is damaged is reported with the damaged object; the others as usual."""
    from datetime import datetime, timezone

    from hsiwq.store import Record, SiteStore

    config, _ = load_config(None)
    ws = Workspace.resolve()
    t = datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)
    for site in ("taihu-north", "yangtze-nanjing"):
        SiteStore(ws.store_path(site)).write(Record(t, {"chl_a": 1.0}, {"verdict": "accepted"}))
    entry = next((ws.store_path("taihu-north") / "journal").iterdir())
    entry.write_bytes(entry.read_bytes()[:40])
    by_site = {s.site: s for s in site_status(config, ws)}
    broken, fine = by_site["taihu-north"], by_site["yangtze-nanjing"]
    assert entry.name in broken.problem and "truncated (40 of" in broken.problem
    assert broken.records == 0 and broken.last_acquisition is None
    assert not fine.problem and fine.records == 1 and fine.last_valid == t
