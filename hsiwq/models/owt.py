"""Optical water types (OWT) of spectra, to route or blend regional models.

Spectra are compared by **shape**: each is divided by its integral over 400–800 nm (the
normalisation of Spyrakos et al. 2018), so that brightness alone does not decide the type.
Two typologies:

- a published one: given class mean spectra (e.g. the 13 inland OWTs of Spyrakos et al.
  2018, loaded with :func:`load_centroids` from a CSV with one row per type and columns
  ``Rrs_<nm>`` of the normalised spectra [1/nm]), each spectrum gets soft memberships from
  its spectral angle to every class mean;
- a typology learned from the data (the default, since the Spyrakos class means are not
  bundled): a Gaussian mixture on the leading principal components of the normalised
  spectra, its number of types chosen by BIC (Schwarz 1978); memberships are the mixture's
  posterior probabilities.

The memberships are features of the regional regressors (which route or blend by them),
and the most likely type is reported with every prediction.

References
----------
.. [1] Spyrakos, E., O'Donnell, R., Hunter, P. D., et al. (2018). Optical types of inland and
   coastal waters. Limnol. Oceanogr. 63, 846–870.
.. [2] Moore, T. S., Campbell, J. W., Feng, H. (2001). A fuzzy logic classification scheme
   for selecting and blending satellite ocean color algorithms. IEEE Trans. Geosci. Remote
   Sens. 39(8), 1764–1776.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted

from .spectra import resample, spectra_from_table


def normalise(rrs: np.ndarray, wavelength_nm: np.ndarray, window_nm=(400.0, 800.0)) -> np.ndarray:
    """Rrs divided by its trapezoidal integral over ``window_nm`` [1/nm] (Spyrakos et al. 2018)."""
    wl = np.asarray(wavelength_nm, dtype=float)
    sel = (wl >= window_nm[0]) & (wl <= window_nm[1])
    x = np.atleast_2d(rrs)[:, sel]
    with np.errstate(invalid="ignore", divide="ignore"):
        return x / np.trapezoid(x, wl[sel], axis=1)[:, None]


def load_centroids(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Class mean spectra from a CSV (rows: types, columns ``type`` and ``Rrs_<nm>``).

    Returns
    -------
    centroids : ndarray (n_types, n_wavelength) [1/nm]
    wavelength_nm : ndarray
    names : list of str
    """
    table = pd.read_csv(path)
    rrs, wl = spectra_from_table(table, where=str(path))
    names = [str(v) for v in table["type"]] if "type" in table else [str(i + 1) for i in range(len(table))]
    return rrs, wl, names


class OpticalWaterTypes(BaseEstimator):
    """Soft optical-water-type memberships of spectra on a fixed grid.

    Parameters
    ----------
    wavelength_nm : sequence of float
        Grid of the input spectra [nm].
    centroids : ndarray or None
        Published class mean spectra (normalised, on ``centroid_wavelength_nm``); None
        learns a typology from the training spectra.
    centroid_wavelength_nm : sequence of float or None
        Their grid [nm].
    max_types : int
        Most types of a learned typology.
    n_components : int
        Principal components of the normalised spectra for the learned typology.
    angle_scale_deg : float
        Softness of the memberships from spectral angles [deg].
    random_state : int
        Seed.

    Attributes
    ----------
    n_types_ : int
    names_ : list of str
    """

    def __init__(self, wavelength_nm=None, centroids=None, centroid_wavelength_nm=None,
                 max_types: int = 6, n_components: int = 4, angle_scale_deg: float = 2.0,
                 random_state: int = 0):
        self.wavelength_nm = wavelength_nm
        self.centroids = centroids
        self.centroid_wavelength_nm = centroid_wavelength_nm
        self.max_types = max_types
        self.n_components = n_components
        self.angle_scale_deg = angle_scale_deg
        self.random_state = random_state

    def fit(self, X, y=None):
        wl = np.asarray(self.wavelength_nm, dtype=float)
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != wl.size:
            raise ValueError(f"expected spectra of shape (n, {wl.size}), got {X.shape}")
        if self.centroids is not None:
            c = np.asarray(self.centroids, dtype=float)
            cwl = np.asarray(self.centroid_wavelength_nm, dtype=float)
            common = wl[(wl >= max(400.0, cwl[0])) & (wl <= min(800.0, cwl[-1]))]
            self.angle_grid_ = common
            self.centroids_ = normalise(resample(c, cwl, common), common, (common[0], common[-1]))
            self.n_types_ = c.shape[0]
            self.names_ = [str(i + 1) for i in range(self.n_types_)]
            return self
        z = np.log(np.clip(normalise(X, wl), 1e-6, None))
        ok = np.all(np.isfinite(z), axis=1)
        self.pca_ = PCA(min(self.n_components, z.shape[1], max(1, ok.sum() - 1)),
                        random_state=self.random_state).fit(z[ok])
        t = self.pca_.transform(z[ok])
        best, best_bic = None, np.inf
        for k in range(1, min(self.max_types, max(1, ok.sum() // 30)) + 1):
            gm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, n_init=2,
                                 random_state=self.random_state).fit(t)
            bic = gm.bic(t)
            if bic < best_bic:
                best, best_bic = gm, bic
        self.mixture_ = best
        self.n_types_ = int(best.n_components)
        self.names_ = [f"L{i + 1}" for i in range(self.n_types_)]
        return self

    def transform(self, X) -> np.ndarray:
        """Memberships (n, n_types) [-], rows summing to 1 (uniform where a spectrum is unusable)."""
        check_is_fitted(self, "n_types_")
        wl = np.asarray(self.wavelength_nm, dtype=float)
        X = np.asarray(X, dtype=float)
        if self.centroids is not None:
            sel = np.isin(wl, self.angle_grid_)
            x = normalise(X[:, sel], wl[sel], (wl[sel][0], wl[sel][-1]))
            cos = (x @ self.centroids_.T) / (np.linalg.norm(x, axis=1)[:, None]
                                              * np.linalg.norm(self.centroids_, axis=1)[None, :])
            ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
            logits = -(ang - np.nanmin(ang, axis=1, keepdims=True)) / self.angle_scale_deg
            m = np.exp(logits)
            m /= m.sum(axis=1, keepdims=True)
        else:
            z = np.log(np.clip(normalise(X, wl), 1e-6, None))
            ok = np.all(np.isfinite(z), axis=1)
            m = np.full((X.shape[0], self.n_types_), 1.0 / self.n_types_)
            if ok.any():
                m[ok] = self.mixture_.predict_proba(self.pca_.transform(z[ok]))
        return np.where(np.isfinite(m), m, 1.0 / self.n_types_)

    def predict(self, X) -> np.ndarray:
        """The most likely type of each spectrum (index into ``names_``)."""
        return np.argmax(self.transform(X), axis=1)
