"""TLI(Σ), trophic classes and GB 3838-2002 classes (docs/models.md §1)."""

from __future__ import annotations

import numpy as np
import pytest

from hsiwq.indicators import (gb3838_class, gb3838_class_index, gb3838_limits, indicators, tli,
                              tli_component, trophic_class)


def test_tli_components_follow_the_published_relations():
    assert tli_component("chl_a", 1.0) == pytest.approx(25.0)
    assert tli_component("secchi", 1.0) == pytest.approx(51.18)
    assert tli_component("tp", np.e) == pytest.approx(10 * (9.436 + 1.624))
    assert np.isnan(tli_component("tn", 0.0))
    with pytest.raises(ValueError):
        tli_component("cod", 3.0)


def test_tli_sum_weights_and_a_hand_computed_value():
    v = {"chl_a": 20.0, "tp": 0.1, "tn": 2.0, "secchi": 0.5, "cod_mn": 6.0}
    parts = {k: float(tli_component(k, x)) for k, x in v.items()}
    r2 = {"chl_a": 1.0, "tp": 0.84**2, "tn": 0.82**2, "secchi": 0.83**2, "cod_mn": 0.83**2}
    expected = sum(r2[k] * parts[k] for k in v) / sum(r2.values())
    assert tli(v) == pytest.approx(expected) == pytest.approx(58.68, abs=0.01)
    # weights renormalised over the components present; chlorophyll-a alone is TLI(chl)
    assert tli({"chl_a": 20.0}) == pytest.approx(parts["chl_a"])
    assert np.isnan(tli({"chl_a": 20.0, "tp": 0.1}, require_all=True))
    with pytest.raises(ValueError, match="chlorophyll"):
        tli({"tp": 0.1})
    arr = tli({"chl_a": np.array([1.0, np.nan]), "tp": np.array([0.01, 0.01])})
    assert np.isfinite(arr[0]) and np.isnan(arr[1])


def test_trophic_classes_and_their_bounds():
    got = trophic_class([10, 29.99, 30, 50, 59.9, 60, 70, 85, np.nan])
    assert list(got) == ["oligotrophic", "oligotrophic", "mesotrophic", "light eutrophic",
                         "light eutrophic", "middle eutrophic", "hypereutrophic", "hypereutrophic", ""]


def test_gb3838_classes_per_parameter():
    assert list(gb3838_class("cod_mn", [1.5, 2.0, 2.01, 6.0, 15.0, 15.1])) == ["I", "I", "II", "III", "V", "worse than V"]
    # classes I and II share the COD limit of 15 mg/L: 15 is class I, just above is III
    assert list(gb3838_class("cod", [15.0, 15.5, 40.0, 41.0])) == ["I", "III", "V", "worse than V"]
    assert list(gb3838_class("nh3_n", [0.1, 0.9, np.nan])) == ["I", "III", ""]
    assert list(gb3838_class("tp", [0.05, 0.05], "lake")) == ["III"] * 2
    assert list(gb3838_class("tp", [0.05], "river")) == ["II"]
    assert list(gb3838_class("tn", [0.2, 2.5])) == ["I", "worse than V"]
    assert gb3838_limits("chl_a") is None and list(gb3838_class("chl_a", [50.0])) == [""]
    assert gb3838_class_index("tp", 0.3, "river") == 4
    with pytest.raises(ValueError):
        gb3838_limits("tp", "sea")


def test_indicators_of_a_record():
    out = indicators({"chl_a": np.array([60.0]), "tp": np.array([0.2]), "tn": np.array([3.0]),
                      "secchi": np.array([0.3]), "cod_mn": np.array([8.0]), "cod": np.array([25.0])},
                     waterbody="lake")
    assert out["trophic_class"][0] in ("middle eutrophic", "hypereutrophic")
    assert out["gb3838_tn"][0] == "worse than V" and out["gb3838_cod"][0] == "IV"
    assert out["gb3838_tp"][0] == "V"
