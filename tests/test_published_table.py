"""The table of published band algorithms (hsiwq.retrieval.published): what it promises to
its users — the plugin entry points, the regional models' saved feature names and the range
of bands each function reads."""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np
import pytest

from hsiwq.params import PARAMETERS
from hsiwq.retrieval import cdom, chlorophyll, phycocyanin, sediment
from hsiwq.retrieval.algorithms import ENTRY_POINT_GROUP, RetrievalContext
from hsiwq.retrieval.published import BAND_FUNCTIONS

WL = np.arange(400.0, 901.0, 1.0)


def _g(centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((WL - centre) / width) ** 2)


#: Three water types [sr-1], so that every branch of the switching algorithms is read:
#: clear (blue peak, OC4's and the blend's clear-water type), productive (phycocyanin and
#: chlorophyll troughs, red-edge peak: the NIR-red algorithms), turbid (ρw(645) > 0.07: the
#: NIR branches of Nechad and Dogliotti, the blend's sediment type).
SPECTRA = {
    "clear": 0.0003 + 0.006 * _g(480, 60) + 0.0008 * _g(680, 6) * 0.5,
    "productive": (0.004 + 0.012 * _g(570, 40) - 0.0015 * _g(620, 10) - 0.002 * _g(675, 8)
                   + 0.006 * _g(705, 12) + 0.003 * _g(810, 20)) * (1 - 0.3 * (WL > 750)),
    "turbid": 0.004 + 0.03 * _g(640, 90) + 0.012 * _g(810, 40),
}


def test_every_band_function_is_an_installed_entry_point_giving_its_values():
    """The distribution's entry points (pyproject.toml) name each algorithm of the table, and
    the object they load gives the table function's values for its parameter."""
    eps = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for name, f in BAND_FUNCTIONS.items():
        assert f.name == name and f.parameter in PARAMETERS
        alg = eps[name].load()
        assert alg.name == name and alg.parameters == (f.parameter,) and alg.reference == f.reference
        for rrs in SPECTRA.values():
            np.testing.assert_array_equal(alg(rrs[None], WL, RetrievalContext())[f.parameter],
                                          f.function(rrs[None], WL))


def test_regional_feature_names_and_ranges_stay_as_saved_models_know_them():
    """Saved regional models name their columns ``alg_<feature>``: the features, their
    functions and the band ranges that switch them on are pinned here as they were when the
    table was introduced (2026-12-07)."""
    from hsiwq.models.features import ALGORITHM_FEATURES

    pinned = {
        "ndci_chl": (chlorophyll.chl_ndci_mishra2012, (660, 715)),
        "gilerson2": (chlorophyll.chl_gilerson2010, (660, 715)),
        "gilerson3": (chlorophyll.chl_gilerson2010_3band, (660, 760)),
        "gons": (chlorophyll.chl_gons2005, (660, 785)),
        "oc4": (chlorophyll.chl_oc4_oreilly2000, (440, 560)),
        "simis2005": (phycocyanin.pc_simis2005, (615, 785)),
        "nechad": (sediment.tss_nechad2010, (660, 875)),
        "dogliotti": (sediment.turbidity_dogliotti2015, (640, 870)),
        "ficek": (cdom.cdom_ficek2011, (565, 660)),
    }
    assert list(ALGORITHM_FEATURES) == list(pinned)
    for k, (func, rng) in pinned.items():
        assert ALGORITHM_FEATURES[k][0] is func and tuple(ALGORITHM_FEATURES[k][1]) == rng, k


@pytest.mark.parametrize("name", sorted(BAND_FUNCTIONS))
def test_needs_nm_holds_every_band_the_function_reads(name):
    """Beyond ``needs_nm`` widened by 5 nm (half a 10-nm band) the function reads nothing:
    changing the reflectance there, or cutting it off, leaves its value as it was, on all
    three water types; and it gives a value on at least one of them."""
    f = BAND_FUNCTIONS[name]
    lo, hi = f.needs_nm
    inside = (WL >= lo - 5) & (WL <= hi + 5)
    finite = 0
    for kind, rrs in SPECTRA.items():
        whole = np.asarray(f.function(rrs[None], WL), dtype=float)
        changed = np.where(inside, rrs, 1.7 * rrs + 0.002)[None]
        np.testing.assert_array_equal(f.function(changed, WL), whole, err_msg=f"{name}, {kind}")
        np.testing.assert_allclose(f.function(rrs[None, inside], WL[inside]), whole, rtol=1e-12,
                                   err_msg=f"{name}, {kind}, cut")
        finite += int(np.isfinite(whole[0]) and whole[0] > 0)
    assert finite >= 1, name


@pytest.mark.parametrize("name", ["oc4-oreilly2000", "nechad2010", "dogliotti2015", "chl-owt-blend"])
def test_the_water_types_reach_the_switching_branches(name):
    """The spectra above do read the branches the range test is meant to cover: the switching
    algorithms give different values on clear and turbid water (not one branch twice)."""
    f = BAND_FUNCTIONS[name]
    clear, turbid = (float(f.function(SPECTRA[k][None], WL)[0]) for k in ("clear", "turbid"))
    assert np.isfinite(clear) and np.isfinite(turbid) and turbid > 3 * clear
    rho645 = np.pi * SPECTRA["turbid"][WL == 645][0]
    assert rho645 > 0.07  # Dogliotti et al. (2015): the NIR branch alone above 0.07
