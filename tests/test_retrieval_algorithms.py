"""Published defaults and the ``hsiwq.algorithms`` plugin interface."""

from __future__ import annotations

import json
import textwrap
import warnings

import numpy as np
import pytest

from hsiwq.errors import ConfigError
from hsiwq.models.metrics import mdsa
from hsiwq.models.spectra import spectra_from_table
from hsiwq.models.synthetic import NO_NOISE, simulate_matchups
from hsiwq.retrieval import chlorophyll, phycocyanin, qaa
from hsiwq.retrieval.algorithms import (BUILTIN, AlgorithmPluginWarning, RetrievalContext,
                                        load_algorithms)
from hsiwq.retrieval.defaults import DEFAULT_ALGORITHMS, retrieve_defaults
from hsiwq.retrieval.service import retrieve_region
from hsiwq.workspace import Workspace


@pytest.fixture(scope="module")
def lake():
    t = simulate_matchups("eutrophic_lake", 200, seed=5, noise=NO_NOISE)
    rrs, wl = spectra_from_table(t)
    return t, rrs, wl


def test_published_algorithms_on_simulated_eutrophic_water(lake):
    t, rrs, wl = lake
    # inland chlorophyll-specific absorption (aph_scale 2) is what these algorithms assume
    assert mdsa(t.chl_a, chlorophyll.chl_gilerson2010(rrs, wl)) < 30
    assert mdsa(t.chl_a, chlorophyll.chl_gilerson2010_3band(rrs, wl)) < 35
    assert mdsa(t.phycocyanin, phycocyanin.pc_simis2007(rrs, wl)) < 40
    blended = chlorophyll.chl_blended(rrs, wl)
    assert np.isfinite(blended).mean() > 0.95 and mdsa(t.chl_a, blended) < 40
    w = chlorophyll.water_type_weights(rrs, wl)
    assert np.allclose(w["clear"] + w["productive"] + w["turbid"], 1.0)
    q = qaa.qaa_v6(rrs, wl, at_nm=np.array([443.0, 665.0]))
    assert q.a.shape == (200, 2) and np.all(q.a[:, 1] > 0.4)  # above pure water at 665 nm
    sd = qaa.secchi_qaa_lee2015(rrs, wl)
    assert np.isfinite(sd).mean() > 0.95 and np.all(sd[np.isfinite(sd)] > 0)


def test_every_builtin_is_registered_and_returns_its_parameters(lake):
    t, rrs, wl = lake
    algs = load_algorithms()
    assert set(BUILTIN) <= set(algs)
    for name, alg in BUILTIN.items():
        if name == "saa-lee1999":
            continue  # slow; covered by the chain tests
        out = alg(rrs[:5], wl, RetrievalContext())
        # each parameter, and at most its 68 % bounds and out-of-domain flag besides
        extras = {f"{p}_{k}" for p in alg.parameters for k in ("lo", "hi", "ood")}
        assert set(alg.parameters) <= set(out) <= set(alg.parameters) | extras
        assert all(v.shape == (5,) for v in out.values())
    assert set(DEFAULT_ALGORITHMS) == {"chl_a", "phycocyanin", "tss", "turbidity", "secchi", "cdom"}


def test_defaults_can_be_chosen_and_limited(lake):
    t, rrs, wl = lake
    r = retrieve_defaults(rrs[:3], wl, choice={"chl_a": "gilerson2010-2band"}, parameters=["chl_a", "turbidity"])
    assert set(r.values) == {"chl_a", "turbidity"}
    assert r.algorithms == {"chl_a": "gilerson2010-2band", "turbidity": "dogliotti2015"}
    with pytest.raises(ConfigError, match="unknown retrieval algorithm"):
        retrieve_defaults(rrs[:3], wl, choice={"chl_a": "nope"}, parameters=["chl_a"])
    with pytest.raises(ConfigError, match="does not return"):
        retrieve_defaults(rrs[:3], wl, choice={"chl_a": "nechad2010"}, parameters=["chl_a"])


PLUGIN = textwrap.dedent('''
    import numpy as np
    from hsiwq.retrieval.algorithms import band_algorithm

    def _chl(rrs, wl):
        return np.full(rrs.shape[0], 42.0)

    GOOD = band_algorithm("test-chl", "chl_a", _chl, "A. Tester (2026) J. Tests 1, 1")

    class Plain:
        """Not an Algorithm instance, but follows the interface."""
        name = "test-tss"
        parameters = ("tss",)
        reference = "B. Tester (2026)"
        def __call__(self, rrs, wavelength_nm, context):
            return {"tss": np.full(rrs.shape[0], 7.0)}

    PLAIN = Plain()

    class Failing:
        name = "test-failing"
        parameters = ("cdom",)
        reference = "C. Tester"
        def __call__(self, rrs, wavelength_nm, context):
            raise RuntimeError("boom")

    FAILING = Failing()
    NOT_AN_ALGORITHM = 3
    WRONG_PARAMETER = band_algorithm("test-wrong", "colour", _chl, "D")
''')
ENTRY_POINTS = textwrap.dedent('''
    [hsiwq.algorithms]
    test-chl = hsiwq_test_plugin:GOOD
    test-tss = hsiwq_test_plugin:PLAIN
    test-failing = hsiwq_test_plugin:FAILING
    missing-attr = hsiwq_test_plugin:DOES_NOT_EXIST
    missing-module = hsiwq_no_such_module:X
    not-an-algorithm = hsiwq_test_plugin:NOT_AN_ALGORITHM
    wrong-parameter = hsiwq_test_plugin:WRONG_PARAMETER
    duplicate = hsiwq.retrieval.algorithms:CHL_GONS
''')


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A third-party distribution on sys.path with good and broken entry points."""
    (tmp_path / "hsiwq_test_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "hsiwq_test_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hsiwq-test-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_plugins_load_and_broken_ones_only_warn(plugin):
    with pytest.warns(AlgorithmPluginWarning) as caught:
        algs = load_algorithms()
    assert {"test-chl", "test-tss", "test-failing"} <= set(algs)
    text = " ".join(str(w.message) for w in caught)
    for name in ("missing-attr", "missing-module", "not-an-algorithm", "wrong-parameter"):
        assert name in text
    assert "duplicate" not in text  # a built-in registered twice is the same object: fine
    assert set(BUILTIN) <= set(algs)


def test_a_region_can_choose_a_plugin_and_a_failing_one_gives_nan(plugin, tmp_path, lake):
    t, rrs, wl = lake
    home = tmp_path / "home"
    regions = home / "calibration" / "regions"
    regions.mkdir(parents=True)
    (regions / "pond.json").write_text(json.dumps({
        "region": "pond", "siop": {},
        "algorithms": {"chl_a": "test-chl", "tss": "test-tss", "cdom": "test-failing",
                       "phycocyanin": "simis2007", "secchi": "qaa-lee2015"}}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlgorithmPluginWarning)
        r = retrieve_region(rrs[:3], wl, region="pond", workspace=Workspace(home))
    assert np.all(r.values["chl_a"] == 42.0) and r.algorithms["chl_a"] == "test-chl"
    assert np.all(r.values["tss"] == 7.0) and r.algorithms["tss"] == "test-tss"
    assert np.all(np.isnan(r.values["cdom"]))
    assert r.algorithms["phycocyanin"] == "simis2007"
