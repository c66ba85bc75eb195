"""Where every tuned constant of the model code came from, and on which data it was chosen.

A number in a model that was chosen by looking at results is a fitted parameter in
disguise: it must say what it was fitted on. :data:`TUNED` lists each one with its value,
where it lives, how and on what it was chosen, and what the real matchups (GLORIA,
``benchmarks/real.py``) and the independent second simulator (``benchmarks/sim2``) say of
it. ``tests/test_provenance.py`` checks that every listed value is the one in the code, so
this table cannot drift from it; docs/models.md prints it.

Three kinds of origin:

- ``published`` — taken from a paper (cited);
- ``convention`` — a statistical convention or a bound on cost, not fitted to any data;
- ``simulator`` / ``real`` — chosen by measurement on the project's simulator or on the real
  matchups; for these the columns ``real`` and ``sim2`` say what the other data show.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass


@dataclass(frozen=True)
class TunedConstant:
    """One tuned constant.

    Attributes
    ----------
    where : str
        ``module:NAME`` (a module attribute) or ``module:Class.param`` (a default of
        ``__init__``).
    value : object
        Its value in the code.
    origin : str
        ``published``, ``convention``, ``simulator`` or ``real``.
    how : str
        How it was chosen.
    real : str
        What the real matchups say (or why they cannot judge it).
    sim2 : str
        What the second, independent simulator says.
    """

    where: str
    value: object
    origin: str
    how: str
    real: str
    sim2: str = "see docs/models.md, second simulator"


_NO_PHYSICS_ON_REAL = ("not judged on real data: the physics stage needs chl-a, phycocyanin, TSS and "
                       "CDOM lab values together, and GLORIA has no phycocyanin")

TUNED: tuple[TunedConstant, ...] = (
    # the regional calibrator's choice rule
    TunedConstant("hsiwq.models.calibrator:STACK_MARGIN", 0.5, "real",
                  "the stack unless a single candidate is >50 % better in CV, with or without a "
                  "physics stage; chosen on the real benchmark against 0.05, then kept for the "
                  "physics stage too (whose 0.05 had been chosen on the project's simulator alone)",
                  "0.05: 18/31 cells at or below the better baseline; 0.5: 24/31 (docs/real_water.md)",
                  "with a physics stage, 0.05 → 0.5: 13 → 16/33 ≤ min(baseline, 1.15 × limit), 19 → "
                  "21/33 at or below the better baseline; own simulator 31 → 32/33, no cell worse "
                  "by more than 3.6 % (docs/models.md)"),
    TunedConstant("hsiwq.models.calibrator:RegionCalibrator.constituent_margin", 0.0, "simulator",
                  "non-optical parameters keep ridge-conc only where it has the best CV score (was "
                  "0.10, chosen on 60 cells of the project's simulator, whose non-optical parameters "
                  "are log-linear in the constituents by construction); set to 0 on the second simulator",
                  "not judged: GLORIA has no non-optical lab values",
                  "0.10 → 0: sim2 non-optical cells −2.9 % MdSA (geometric mean of 15; lake COD "
                  "24.1 → 21.1 %), 16 → 19/33 at or below the better baseline, 10 → 13/33 within "
                  "min(baseline, 1.15 × limit); own simulator ≤ +4.5 % in any cell, 32/33 and 31/33 "
                  "unchanged (docs/models.md)"),
    TunedConstant("hsiwq.models.calibrator:RegionCalibrator.min_samples", 20, "convention",
                  "fewest lab values for a model (5 folds of ≥4 held-out values)", "applies as is"),
    TunedConstant("hsiwq.models.calibrator:RegionCalibrator.prior", "global", "real",
                  "the global model trained on GLORIA as features and a candidate",
                  "chosen on the real benchmark: cross-validation picks a prior-based candidate in "
                  "most country-parameters (benchmarks/real.py)"),
    TunedConstant("hsiwq.models.calibrator:MIN_FOLD_ROWS", 12, "convention",
                  "a CV fold needs more training rows than the 10 PLS components", "applies as is"),
    TunedConstant("hsiwq.models.calibrator:MIN_HELD_OUT", 10, "convention",
                  "fewest held-out residuals to calibrate an interval", "applies as is"),
    TunedConstant("hsiwq.models.candidates:HGB_LEVELS", 25, "convention",
                  "hgb-l sees every ~20 nm of the log-reflectance: a bound on calibration time",
                  "GLORIA has 19 bands: hgb-l sees all of them"),
    TunedConstant("hsiwq.models.candidates:CONSTANT_TOLERANCE", 1e-4, "convention",
                  "a feature column whose training spread is below 1e-4 of its magnitude is "
                  "constant for the candidates' scalers (StableScaler); on simulated matchups the smallest "
                  "spread of a feature column (a reflectance derivative) is ~7.5e-4",
                  "ridge held-out ln predictions beyond 3 of the lab range 37 → 10 of 531 "
                  "fits; cells 24/31 unchanged, geometric mean 0.937 → 0.935",
                  "every cell unchanged (16/33; 2026-12-07)"),
    TunedConstant("hsiwq.models.candidates:COSTLY_MIN_WEIGHT", 0.2, "convention",
                  "bound on prediction cost (100,000 spectra within 5 s)", "applies as is"),
    TunedConstant("hsiwq.models.candidates:MAX_COSTLY", 1, "convention",
                  "bound on prediction cost", "applies as is"),
    TunedConstant("hsiwq.models.candidates:GP_MAX_ITER", 50, "convention",
                  "bound on calibration time (CV MdSA unchanged at 50 vs. convergence)", "applies as is"),
    TunedConstant("hsiwq.models.candidates:make_candidates.gp_max_rows", 300, "convention",
                  "O(n³) bound on calibration time", "applies as is"),
    TunedConstant("hsiwq.models.regional:RANGE_MARGIN", 1.5, "convention",
                  "a value 1.5× beyond the 0.5–99.5 % training range is out of domain", "applies as is"),
    TunedConstant("hsiwq.models.domain:DomainModel.quantile", 0.98, "convention",
                  "threshold ≥ the 98 % quantile of held-out training scores", "applies as is"),
    TunedConstant("hsiwq.models.domain:DomainModel.z", 3.0, "convention",
                  "3 robust standard deviations of the log score", "applies as is"),
    TunedConstant("hsiwq.models.uncertainty:ConformalInterval.ridge", 1.0, "convention",
                  "keeps the width regression tame with few residuals; conformal coverage holds "
                  "whatever its value", "coverage measured on held-out campaigns (benchmarks/real.py)"),
    TunedConstant("hsiwq.models.features:SpectralFeatures.log_scale", 1e-4, "convention",
                  "asinh scale ~ the NIR noise of clear water [sr-1]", "applies as is"),
    # the physics stage
    TunedConstant("hsiwq.models.physics:PRIOR_SCALES", (1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0), "simulator",
                  "grid of prior widenings; the factor itself is chosen on each region's matchups",
                  _NO_PHYSICS_ON_REAL),
    TunedConstant("hsiwq.models.physics:NoiseModel.absolute", 2e-5, "simulator",
                  "floor of the inversion's per-band error [sr-1]", _NO_PHYSICS_ON_REAL),
    TunedConstant("hsiwq.models.physics:RegionalPhysics.posterior_samples", 20000, "convention",
                  "spectra simulated to learn the posterior-median correction (cost bound)",
                  _NO_PHYSICS_ON_REAL),
    TunedConstant("hsiwq.models.posterior:PosteriorCorrection.n_components", 20, "simulator",
                  "principal components of asinh(Rrs) fed to the correction", _NO_PHYSICS_ON_REAL),
    TunedConstant("hsiwq.models.pooled:POOL_WEIGHT", 1.0, "convention",
                  "the region's own matchups and the pooled real matchups of other water bodies "
                  "weigh the same in total (neither set chosen to dominate); not tuned",
                  "with it, calibrated cells 24/31 as without the candidate, geometric mean of "
                  "hsiwq ÷ better baseline 0.935 → 0.900 (docs/real_water.md); a stand-alone check of "
                  "total weights 0.25, 1 and 4 moved single cells both ways",
                  "not applicable: used only without a physics stage, and the second simulator's "
                  "regions have one"),
    # the global model
    TunedConstant("hsiwq.models.global_features:RRS_FLOOR", 1e-5, "convention",
                  "floor before log10 [sr-1], below the noise of above-water radiometry",
                  "34 GLORIA spectra have negative Rrs at 900 nm (not a band the model uses)"),
    TunedConstant("hsiwq.models.global_features:REAL_BOOSTING",
                  {"max_iter": 200, "learning_rate": 0.08, "min_samples_leaf": 10, "l2_regularization": 1.0},
                  "convention",
                  "the real-data benchmark's gradient-boosting baseline's settings, used as they "
                  "are by the global model's boosted trees and the pooled candidate (neither tuned)",
                  "the global model's boosted trees alone are that baseline (20/31 no-model cells, "
                  "ties); the pooled candidate's gain over the same trees on the region alone is "
                  "measured with them (tests/test_models_pooled.py)",
                  "not applicable: used only without a physics stage, and the second simulator's "
                  "regions have one"),
    TunedConstant("hsiwq.models.gloria:EDGE_NM", 2.5, "convention",
                  "a band centre up to half a typical band width beyond a camera's range is "
                  "estimated from the part it covers", "applies as is"),
    TunedConstant("hsiwq.models.global_model:GlobalModel.min_group", 60, "convention",
                  "a country judges the model only with ≥ 60 lab values (the issue's criterion)",
                  "applies as is"),
    TunedConstant("hsiwq.models.global_model:GlobalModel.members", ("hgb", "mlp"), "real",
                  "boosted trees (every band) and a small MLP (the band set), chosen by "
                  "leave-one-country-out MdSA on GLORIA among 18 combinations",
                  "chosen on it: geometric-mean ratio 0.991 to the per-country target, worst 2.11 "
                  "(docs/real_water.md)"),
    TunedConstant("hsiwq.models.global_model:PUBLISHED_MEMBERS", (("cdom", ("ficek2011", "qaa-cdom")),), "real",
                  "published algorithms blended with the learners, per parameter: a nested "
                  "leave-one-country-out comparison on GLORIA preferred the blend for CDOM for every "
                  "held-out country and perceptron seed (0, 1, 2), and for no other parameter consistently",
                  "chosen on it: cells 17, 18, 15 → 19, 19, 16/31, geometric-mean ratio 0.991, 1.007, "
                  "1.063 → 0.959, 0.987, 1.009 with seeds 0, 1, 2 (weights with every country counted "
                  "the same; docs/real_water.md)",
                  "not applicable: the second simulator tests regional calibration, not the global model"),
    TunedConstant("hsiwq.models.global_model:MIN_PUBLISHED_SHARE", 0.8, "convention",
                  "a published algorithm joins a blend only if it gives values for ≥ 80 % of the "
                  "held-out rows (the real benchmark's rule for counting one)", "applies as is",
                  "not applicable"),
)


def _resolve(where: str) -> object:
    module, _, attr = where.partition(":")
    mod = importlib.import_module(module)
    head, _, param = attr.partition(".")
    obj = getattr(mod, head)
    if not param:
        return obj
    target = obj.__init__ if inspect.isclass(obj) else obj
    default = inspect.signature(target).parameters[param].default
    if default is inspect.Parameter.empty and inspect.isclass(obj):
        return getattr(obj, param)
    return default


def current_values() -> dict[str, object]:
    """The value in the code of every listed constant (for the consistency test)."""
    return {c.where: _resolve(c.where) for c in TUNED}


def markdown_table() -> str:
    """:data:`TUNED` as a Markdown table."""
    rows = ["| constant | value | origin | how chosen | real matchups | second simulator |",
            "|---|---|---|---|---|---|"]
    for c in TUNED:
        rows.append(f"| `{c.where.split(':')[1]}` | {c.value} | {c.origin} | {c.how} | {c.real} | {c.sim2} |")
    return "\n".join(rows)
