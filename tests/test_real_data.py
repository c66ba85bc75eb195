"""The bundled real matchups (GLORIA) and band-averaging to the global model's bands.

Truth here is the data file itself (counts anyone can check with a spreadsheet) and hand
computations of band means.
"""

from __future__ import annotations

import numpy as np
import pytest

from hsiwq.models.gloria import GLORIA_PARAMETERS, OLCI_BANDS, band_average, load_gloria


@pytest.fixture(scope="module")
def gloria():
    return load_gloria()


def test_every_row_is_kept_with_its_hard_parts(gloria):
    # 1,529 spectra of 15 countries; nothing dropped on reading
    assert len(gloria) == 1529
    assert len(set(gloria.country)) == 15
    assert gloria.rrs.shape == (1529, 19)
    # spectra that did not cover the NIR stay as NaN (293 miss 708 nm, 298 miss 865 nm) ...
    col = {float(w): i for i, w in enumerate(gloria.wavelength_nm)}
    assert int(np.isnan(gloria.rrs[:, col[708.0]]).sum()) == 293
    assert int(np.isnan(gloria.rrs[:, col[865.0]]).sum()) == 298
    assert not np.isnan(gloria.rrs[:, col[665.0]]).any()
    # ... negative NIR values and GLORIA's QC flags are kept too
    assert int((gloria.rrs[:, col[900.0]] < 0).sum()) == 34
    assert int(gloria.flagged.sum()) == 234
    # lab values: counts per parameter (empty cells are NaN)
    counts = {p: int(np.isfinite(gloria.values[p]).sum()) for p in GLORIA_PARAMETERS}
    assert counts == {"chl_a": 1166, "tss": 946, "cdom": 744, "secchi": 1529}


def test_campaigns_are_country_and_date(gloria):
    camp = gloria.campaign
    assert camp.shape == (1529,)
    assert all("/" in c for c in camp[:10])
    assert len(set(camp)) == len(set(zip(gloria.country, gloria.date)))


def test_matchup_table_round_trip(gloria, tmp_path):
    from hsiwq.models.matchups import read_matchups

    path = tmp_path / "m.csv"
    gloria.subset(np.arange(40)).table().to_csv(path, index=False)
    m = read_matchups(path)
    np.testing.assert_allclose(m.rrs, gloria.rrs[:40], equal_nan=True)


def test_band_average_hand_computed():
    # a straight line: the box mean is its value at the band centre
    wl = np.arange(390.0, 911.0, 1.0)
    rrs = (1e-3 + 1e-6 * (wl - 390.0))[None, :]
    out = band_average(rrs, wl)
    centres = np.array([c for c, _ in OLCI_BANDS])
    np.testing.assert_allclose(out[0], 1e-3 + 1e-6 * (centres - 390.0), rtol=1e-9)
    # a step at 665 nm inside the 665 ± 5 nm band: on the 0.5 nm grid 660…670 (21 points)
    # 665…670 are 1 (11 points), 664.5 interpolates 0.5, the rest 0: mean 11.5/21
    step = (wl >= 665.0).astype(float)[None, :] * 1e-3
    assert band_average(step, wl)[0, 7] == pytest.approx(1e-3 * 11.5 / 21, rel=1e-12)


def test_band_average_leaves_uncovered_bands_nan():
    # a camera of 400-700 nm: bands beyond 702.5 nm are NaN; the 400 nm band (392.5-407.5)
    # is averaged over the covered 400-407.5 nm: for a line, its value at 403.75 nm
    wl = np.arange(400.0, 701.0, 5.0)
    rrs = (2e-3 + 1e-6 * (wl - 400.0))[None, :]
    out = band_average(rrs, wl)
    centres = np.array([c for c, _ in OLCI_BANDS])
    assert np.all(np.isnan(out[:, centres > 702.5]))
    assert out[0, 0] == pytest.approx(2e-3 + 1e-6 * 3.75, rel=1e-9)
    inside = (centres > 405) & (centres < 690)
    np.testing.assert_allclose(out[0, inside], 2e-3 + 1e-6 * (centres[inside] - 400.0), rtol=1e-9)


def test_olci_input_passes_through(gloria):
    out = band_average(gloria.rrs[:5], gloria.wavelength_nm)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(gloria.rrs[:5]))
    np.testing.assert_allclose(out, gloria.rrs[:5], equal_nan=True)
