"""The table of published band algorithms (hsiwq.retrieval.published) is the one source of the
plugin catalogue, the regional features and the global model's blend."""

from __future__ import annotations

import numpy as np
import pytest

from hsiwq.params import PARAMETERS
from hsiwq.retrieval.algorithms import BUILTIN, RetrievalContext
from hsiwq.retrieval.published import BAND_FUNCTIONS


def test_every_band_function_is_a_catalogue_algorithm_of_its_parameter():
    for name, f in BAND_FUNCTIONS.items():
        assert f.name == name and f.parameter in PARAMETERS
        alg = BUILTIN[name]
        assert alg.parameters == (f.parameter,) and alg.reference == f.reference


@pytest.mark.parametrize("name", sorted(BAND_FUNCTIONS))
def test_needs_nm_holds_every_band_the_function_reads(name):
    """On a spectrum cut to ``needs_nm`` (± 10 nm, half a band's width) the function gives the
    same value as on the whole 400–900 nm spectrum: it reads nothing outside the range the
    regional features check before calling it."""
    f = BAND_FUNCTIONS[name]
    wl = np.arange(400.0, 901.0, 1.0)
    # a productive, turbid lake [sr-1]: green peak, phycocyanin trough at 620 nm, chlorophyll
    # trough at 675 nm, red-edge peak at 705 nm, a NIR shoulder at 810 nm
    rrs = (0.004 + 0.012 * np.exp(-0.5 * ((wl - 570) / 40) ** 2)
           - 0.0015 * np.exp(-0.5 * ((wl - 620) / 10) ** 2)
           - 0.002 * np.exp(-0.5 * ((wl - 675) / 8) ** 2)
           + 0.006 * np.exp(-0.5 * ((wl - 705) / 12) ** 2)
           + 0.003 * np.exp(-0.5 * ((wl - 810) / 20) ** 2)) * (1 - 0.3 * (wl > 750))
    rrs = rrs[None, :]
    whole = np.asarray(f.function(rrs, wl), dtype=float)
    assert whole.shape == (1,) and np.isfinite(whole[0]) and whole[0] > 0, name
    lo, hi = f.needs_nm
    cut = (wl >= lo - 10) & (wl <= hi + 10)
    np.testing.assert_allclose(f.function(rrs[:, cut], wl[cut]), whole, rtol=1e-12, err_msg=name)


def test_regional_features_use_the_table():
    from hsiwq.models.features import ALGORITHM_FEATURES, FEATURE_ALGORITHMS

    for feature, name in FEATURE_ALGORITHMS.items():
        assert ALGORITHM_FEATURES[feature][0] is BAND_FUNCTIONS[name].function
        assert ALGORITHM_FEATURES[feature][1] == BAND_FUNCTIONS[name].needs_nm


def test_catalogue_values_are_the_functions_values():
    wl = np.array([412.0, 443, 490, 510, 560, 620, 665, 681, 709, 754, 779, 865])
    rrs = np.array([[0.004, 0.005, 0.007, 0.008, 0.012, 0.008, 0.006, 0.0065, 0.009, 0.004, 0.003, 0.002]])
    ctx = RetrievalContext()
    for name, f in BAND_FUNCTIONS.items():
        np.testing.assert_array_equal(BUILTIN[name](rrs, wl, ctx)[f.parameter], f.function(rrs, wl))
