"""Features of the global model: spectra on the 19 OLCI bands → learner inputs.

The global default model (:mod:`.global_model`) learns from spectra band-averaged to the
OLCI bands of the GLORIA matchups (:mod:`.gloria`). Its learners see two views of a
spectrum: the complete features of one *band set* (:func:`global_features`: ``full``
400–865 nm or ``vis`` 400–681 nm) and every band with gaps allowed
(:func:`all_band_features`); the published algorithms blended with them read the OLCI
spectrum itself (:func:`published_estimates`). Pure array-in, array-out functions.

References
----------
.. [1] Lehmann, M. K., et al. (2023). GLORIA – A globally representative hyperspectral in
   situ dataset for optical sensing of water quality. Sci. Data 10, 100.
.. [2] Pahlevan, N., Smith, B., Schalles, J., et al. (2020). Seamless retrievals of
   chlorophyll-a from Sentinel-2 (MSI) and Sentinel-3 (OLCI) in inland and coastal waters:
   A machine-learning approach. Remote Sens. Environ. 240, 111604.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from ..retrieval.published import BAND_FUNCTIONS
from .gloria import OLCI_BANDS

#: OLCI band centres [nm] of the two band sets (the O2 A-band 761–767 nm and the noisy
#: 885/900 nm bands are left out).
VIS_BANDS = (400.0, 412.0, 442.0, 490.0, 510.0, 560.0, 620.0, 665.0, 673.0, 681.0)
NIR_BANDS = (708.0, 753.0, 778.0, 865.0)
#: Band ratios (numerator, denominator) [nm] of each band set.
VIS_RATIOS = ((560.0, 665.0), (490.0, 560.0), (442.0, 560.0), (620.0, 665.0), (681.0, 665.0),
              (412.0, 442.0), (510.0, 560.0), (442.0, 490.0))
NIR_RATIOS = ((708.0, 665.0), (753.0, 665.0), (708.0, 681.0), (778.0, 560.0), (865.0, 665.0))
#: Floor of Rrs before the logarithm [sr-1] (a few NIR bands of clear water are ≤ 0).
RRS_FLOOR = 1e-5
#: The band sets, the fuller first (a spectrum uses the first it covers).
BAND_SETS = ("full", "vis")
_CENTRES = np.array([c for c, _ in OLCI_BANDS])
#: Settings of the boosted trees that learn from these inputs (the global model's ``hgb``
#: member and the pooled regional candidate): the real-data benchmark's gradient-boosting
#: baseline's, so that both are that baseline's learner on more or other rows.
REAL_BOOSTING = MappingProxyType({"max_iter": 200, "learning_rate": 0.08, "min_samples_leaf": 10,
                                  "l2_regularization": 1.0})


def _col(c: float) -> int:
    """Column of the OLCI band nearest ``c`` [nm]."""
    return int(np.argmin(np.abs(_CENTRES - c)))


def global_features(rrs_olci: np.ndarray, band_set: str) -> np.ndarray:
    """Features of OLCI-band spectra for one band set.

    Parameters
    ----------
    rrs_olci : ndarray
        Spectra on the OLCI bands of :data:`~.gloria.OLCI_BANDS` (n, 19) [sr-1].
    band_set : {"full", "vis"}
        ``full`` adds the red-edge and NIR bands to the visible ones.

    Returns
    -------
    ndarray
        (n, k) features: log10 Rrs, spectral shape (log10 Rrs minus its visible mean) and
        log10 band ratios; NaN rows where a band of the set is missing.
    """
    x = np.atleast_2d(np.asarray(rrs_olci, dtype=float))
    bands = VIS_BANDS + (NIR_BANDS if band_set == "full" else ())
    ratios = VIS_RATIOS + (NIR_RATIOS if band_set == "full" else ())
    with np.errstate(invalid="ignore"):
        L = np.log10(np.maximum(x, RRS_FLOOR))
    L = np.where(np.isfinite(x), L, np.nan)
    sel = L[:, [_col(b) for b in bands]]
    mean_vis = np.mean(L[:, [_col(b) for b in VIS_BANDS]], axis=1, keepdims=True)
    shape = sel - mean_vis
    rat = np.column_stack([L[:, _col(a)] - L[:, _col(b)] for a, b in ratios])
    return np.hstack([sel, shape, rat])


def all_band_features(rrs_olci: np.ndarray) -> np.ndarray:
    """log10 Rrs of all 19 OLCI bands and every band ratio of :data:`VIS_RATIOS` and
    :data:`NIR_RATIOS`, NaN where a band is missing (for learners that handle gaps).

    Parameters
    ----------
    rrs_olci : ndarray
        Spectra on the OLCI bands (n, 19) [sr-1].

    Returns
    -------
    ndarray
        (n, 19 + 13) features.
    """
    x = np.atleast_2d(np.asarray(rrs_olci, dtype=float))
    with np.errstate(invalid="ignore"):
        L = np.where(np.isfinite(x), np.log10(np.maximum(x, RRS_FLOOR)), np.nan)
    rat = np.column_stack([L[:, _col(a)] - L[:, _col(b)] for a, b in VIS_RATIOS + NIR_RATIOS])
    return np.hstack([L, rat])



def published_estimates(olci: np.ndarray, names) -> np.ndarray:
    """ln estimates of published calibration-free algorithms on OLCI-band spectra.

    Parameters
    ----------
    olci : ndarray
        Spectra on the OLCI bands of :data:`~.gloria.OLCI_BANDS` (n, 19) [sr-1].
    names : sequence of str
        Names in :data:`~hsiwq.retrieval.published.BAND_FUNCTIONS`.

    Returns
    -------
    ndarray
        (n, len(names)) ln estimates [ln of the catalogue unit]; NaN where an algorithm gives
        no positive value.
    """
    unknown = [n for n in names if n not in BAND_FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown published algorithms {unknown}; known: {', '.join(BAND_FUNCTIONS)}")
    x = np.atleast_2d(np.asarray(olci, dtype=float))
    cols = []
    with np.errstate(all="ignore"):
        for name in names:
            v = np.asarray(BAND_FUNCTIONS[name].function(x, _CENTRES), dtype=float).reshape(x.shape[0])
            cols.append(np.where(np.isfinite(v) & (v > 0), np.log(np.where(v > 0, v, 1.0)), np.nan))
    return np.column_stack(cols) if cols else np.zeros((olci.shape[0], 0))

