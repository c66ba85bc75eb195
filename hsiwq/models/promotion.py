"""The promotion policy: which parameters of a newly calibrated version go into service.

One rule, used by ``hsiwq calibrate --promote``, ``hsiwq recalibrate --promote`` and the
``recalibrate-region`` flow: a parameter's new model is promoted when its held-out MdSA is
at most that of what serves the parameter now, times ``1 + tolerance``:

- the served model's MdSA on the same matchups (in-sample for it if they were its training
  data: a conservative test), or, without a served model,
- the default (published) algorithm's MdSA on the matchups;
- parameters with neither (the non-optical ones on a first calibration) qualify.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .calibrate import CalibrationRun


def better_parameters(new: Mapping[str, float], service: Mapping[str, float],
                      default: Mapping[str, float], tolerance: float = 0.0) -> list[str]:
    """Parameters whose new model is at least as good as what serves them now.

    Parameters
    ----------
    new : mapping
        Held-out MdSA [%] of each new model.
    service : mapping
        MdSA [%] of the models in service on the same matchups.
    default : mapping
        MdSA [%] of the default algorithms on the same matchups.
    tolerance : float
        Relative MdSA margin a new model may be worse by and still count as good [-], ≥ 0.

    Returns
    -------
    list of str
        In the order of ``new``.
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    chosen = []
    for pid, mdsa in new.items():
        old = service.get(pid, default.get(pid))
        if old is None or (isinstance(old, float) and math.isnan(old)) or mdsa <= old * (1.0 + tolerance):
            chosen.append(pid)
    return chosen


def run_scores(run: CalibrationRun) -> dict[str, dict[str, float]]:
    """The MdSA [%] of a calibration's new, served and default models by parameter."""
    return {"new": {p: r.metrics[r.chosen]["mdsa"] for p, r in run.outcome.reports.items()},
            "service": {p: m["mdsa"] for p, m in run.service_metrics.items()},
            "default": {p: m["mdsa"] for p, m in run.default_metrics.items()}}


def parameters_to_promote(run: CalibrationRun, tolerance: float = 0.0) -> list[str]:
    """:func:`better_parameters` of a :class:`~hsiwq.models.calibrate.CalibrationRun`."""
    s = run_scores(run)
    return better_parameters(s["new"], s["service"], s["default"], tolerance)
