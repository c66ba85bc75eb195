"""The feature stage of regional models: spectra on a common grid → features.

:class:`SpectralFeatures` is a scikit-learn transformer whose input is Rrs on its grid
``wavelength_nm`` (use :func:`hsiwq.models.spectra.resample` for other grids). Features:

- ``L_<nm>``: asinh(Rrs/s) on the grid, ≈ ln(2·Rrs/s) where Rrs ≫ s, linear near zero, so
  that noisy near-zero NIR reflectance of clear water stays finite (s = ``log_scale``);
- ``dL_<nm>``: the first derivative of L [1/nm] after Savitzky–Golay smoothing, every
  ``derivative_step_nm``; it carries the spectral shape and ignores a flat gain error;
- ``ratio_<a>_<b>``: L(a) − L(b), classic band ratios (≈ ln(Rrs_a/Rrs_b));
- ``alg_<name>``: ln of the published, calibration-free algorithms (NIR-red chlorophyll,
  Simis phycocyanin, Nechad TSS, Dogliotti turbidity, Ficek / QAA CDOM, QAA Secchi) and of
  QAA v6 IOPs, clipped to the plausible range and, where an algorithm gives no value,
  replaced by its median over the training spectra.

The transformer is stateless apart from the names of the features the training grid allows
and the medians used to fill gaps.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.signal import savgol_filter
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..retrieval import cdom, qaa
from ..retrieval.published import BAND_FUNCTIONS

#: Classic band pairs (nm) whose log ratios are features: red edge, phycocyanin trough,
#: blue/green, green/red, NIR/red.
RATIO_PAIRS: tuple[tuple[float, float], ...] = (
    (708, 665), (753, 665), (620, 665), (620, 709), (560, 665), (490, 560), (443, 560),
    (412, 443), (779, 560), (865, 665), (681, 665), (709, 681), (645, 560))

#: Calibration-free algorithms used as features: feature name (``alg_<name>``, kept stable for
#: saved models) → name in :data:`~hsiwq.retrieval.published.BAND_FUNCTIONS`.
FEATURE_ALGORITHMS = {"ndci_chl": "ndci-mishra2012", "gilerson2": "gilerson2010-2band",
                      "gilerson3": "gilerson2010-3band", "gons": "gons2005", "oc4": "oc4-oreilly2000",
                      "simis2005": "simis2005", "nechad": "nechad2010", "dogliotti": "dogliotti2015",
                      "ficek": "ficek2011"}
#: The same as feature name → (function, the range of bands it reads [nm]).
ALGORITHM_FEATURES = {k: (BAND_FUNCTIONS[n].function, BAND_FUNCTIONS[n].needs_nm)
                      for k, n in FEATURE_ALGORITHMS.items()}
_CLIP = (1e-3, 1e4)


def _covers(wl: np.ndarray, lo: float, hi: float) -> bool:
    return bool(wl[0] <= lo + 2.5 and wl[-1] >= hi - 2.5)


class SpectralFeatures(TransformerMixin, BaseEstimator):
    """Features of Rrs spectra on a fixed grid (see the module docstring).

    Parameters
    ----------
    wavelength_nm : sequence of float
        The grid of the input spectra [nm] (increasing).
    log_scale : float
        s of asinh(Rrs/s) [sr-1]: where reflectance becomes noise.
    smooth_nm : float
        Savitzky–Golay window for the derivative [nm].
    derivative_step_nm : float
        Spacing of the derivative features [nm].
    ratios : bool
        Include band-ratio features.
    algorithms : bool
        Include published algorithms and QAA IOPs as features.

    Attributes
    ----------
    feature_names_out_ : ndarray of str
    fill_ : ndarray
        Training medians of the algorithm features (gap fill).
    """

    def __init__(self, wavelength_nm=None, log_scale: float = 1e-4, smooth_nm: float = 15.0,
                 derivative_step_nm: float = 10.0, ratios: bool = True, algorithms: bool = True):
        self.wavelength_nm = wavelength_nm
        self.log_scale = log_scale
        self.smooth_nm = smooth_nm
        self.derivative_step_nm = derivative_step_nm
        self.ratios = ratios
        self.algorithms = algorithms

    # --- fitting ------------------------------------------------------------------------
    def fit(self, X, y=None):
        wl = self._grid()
        X = self._check(X, wl)
        step = float(np.median(np.diff(wl))) if wl.size > 1 else 1.0
        self.n_smooth_ = max(5, int(round(self.smooth_nm / step)) | 1)
        every = max(1, int(round(self.derivative_step_nm / step)))
        self.derivative_idx_ = np.arange(every // 2, wl.size, every) if wl.size >= self.n_smooth_ else np.zeros(0, int)
        self.ratio_pairs_ = [p for p in RATIO_PAIRS if self.ratios and _covers(wl, min(p), max(p))]
        self.algorithm_names_ = [k for k, (_, rng) in ALGORITHM_FEATURES.items()
                                 if self.algorithms and _covers(wl, *rng)]
        self.qaa_ = bool(self.algorithms and _covers(wl, 410, 710))
        names = [f"L_{w:g}" for w in wl] + [f"dL_{wl[i]:g}" for i in self.derivative_idx_]
        names += [f"ratio_{a}_{b}" for a, b in self.ratio_pairs_]
        names += [f"alg_{k}" for k in self.algorithm_names_]
        if self.qaa_:
            names += ["alg_qaa_cdom", "alg_qaa_secchi", "qaa_bbp555", "qaa_aph443", "qaa_adg443",
                      "qaa_a709", "qaa_a665", "qaa_a620"]
        self.feature_names_out_ = np.array(names, dtype=object)
        self.n_features_in_ = wl.size
        self.fill_ = np.zeros(0)
        alg = self._algorithm_block(X, wl)
        if alg.shape[1]:
            with warnings.catch_warnings():  # an algorithm with no value anywhere: fill with 0
                warnings.simplefilter("ignore", RuntimeWarning)
                self.fill_ = np.nan_to_num(np.nanmedian(alg, axis=0), nan=0.0)
        return self

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    # --- transforming -------------------------------------------------------------------
    def transform(self, X):
        check_is_fitted(self, "feature_names_out_")
        wl = self._grid()
        X = self._check(X, wl)
        L = np.arcsinh(X / self.log_scale)
        blocks = [L]
        if self.derivative_idx_.size:
            step = float(np.median(np.diff(wl)))
            d = savgol_filter(L, self.n_smooth_, 2, deriv=1, delta=step, axis=1, mode="nearest")
            blocks.append(d[:, self.derivative_idx_])
        if self.ratio_pairs_:
            idx = {w: int(np.argmin(np.abs(wl - w))) for p in self.ratio_pairs_ for w in p}
            blocks.append(np.stack([L[:, idx[a]] - L[:, idx[b]] for a, b in self.ratio_pairs_], axis=1))
        alg = self._algorithm_block(X, wl)
        if alg.shape[1]:
            blocks.append(np.where(np.isfinite(alg), alg, self.fill_))
        return np.hstack(blocks)

    def _algorithm_block(self, X: np.ndarray, wl: np.ndarray) -> np.ndarray:
        cols = []
        with np.errstate(all="ignore"):
            for k in self.algorithm_names_:
                cols.append(np.log(np.clip(ALGORITHM_FEATURES[k][0](X, wl), *_CLIP)))
            if self.qaa_:
                at = np.concatenate([qaa.secchi_bands(wl), [620.0, 665.0, 709.0]])
                q = qaa.qaa_v6(X, wl, at_nm=at)
                cols.append(np.log(np.clip(cdom.cdom_from_qaa(q), *_CLIP)))
                cols.append(np.log(np.clip(qaa.secchi_from_qaa(q, X, wl), *_CLIP)))
                cols.append(np.log(np.clip(q.bbp555, 1e-5, 1e2)))
                cols.append(np.log(np.clip(q.aph443, 1e-4, 1e2)))
                cols.append(np.log(np.clip(q.adg443, 1e-4, 1e2)))
                for j in range(1, 4):
                    cols.append(np.log(np.clip(q.a[:, -j], 1e-4, 1e2)))
        return np.stack(cols, axis=1) if cols else np.zeros((X.shape[0], 0))

    # --- helpers ------------------------------------------------------------------------
    def _grid(self) -> np.ndarray:
        if self.wavelength_nm is None:
            raise ValueError("SpectralFeatures needs wavelength_nm (the grid of its input)")
        wl = np.asarray(self.wavelength_nm, dtype=float)
        if wl.ndim != 1 or wl.size < 3 or np.any(np.diff(wl) <= 0):
            raise ValueError("wavelength_nm must be an increasing sequence of at least 3 bands")
        return wl

    @staticmethod
    def _check(X, wl: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != wl.size:
            raise ValueError(f"expected spectra of shape (n, {wl.size}), got {X.shape}")
        return X
