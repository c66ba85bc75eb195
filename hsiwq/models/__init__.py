"""Per-region learned models: calibration from matchups, registry, prediction.

- :mod:`.spectra` — ``Rrs_<nm>`` tables and resampling to a common grid;
- :mod:`.features` — the spectral feature stage;
- :mod:`.physics` — regional SIOPs fitted to matchups and the MAP inversion;
- :mod:`.owt` — optical water types;
- :mod:`.candidates`, :mod:`.calibrator` — candidate regressors, grouped cross-validation
  and model selection;
- :mod:`.uncertainty`, :mod:`.domain` — calibrated intervals and out-of-domain flags;
- :mod:`.regional`, :mod:`.predict` — the fitted per-parameter models and prediction;
- :mod:`.registry` — versioned, verified storage (skops), promotion and rollback;
- :mod:`.matchups`, :mod:`.calibrate`, :mod:`.report` — the calibration workflow;
- :mod:`.matchup_builder`, :mod:`.reprocess` — matchups from the store, reprocessing;
- :mod:`.metrics` — MdSA, SSPB, R², RMSE (simulated matchup tables: :mod:`hsiwq.simulate.matchups`).

The five parameters that are not optically active (COD_Mn, COD, TN, TP, NH₃-N) are only
ever estimated here, through their regional covariance with the optical ones: lower
confidence, and no default exists for them.
"""

from .calibrator import RegionCalibrator
from .metrics import mdsa, sspb
from .registry import ModelRegistry, RegistryError

__all__ = ["ModelRegistry", "RegionCalibrator", "RegistryError", "mdsa", "sspb"]
