"""The models benchmark on the second, independent simulator (:mod:`benchmarks.sim2`).

Runs :func:`benchmarks.models.measure` with ``--simulator sim2`` (three water types, 400
training matchups with 15 % lab values missing, 2,000 test spectra, the simulator's own
30,000-sample limit; no timings), then a diagnosis of the choice per region-parameter:
the cross-validated MdSA of the physics-stage candidates (``physics`` = MAP, ``posterior``
= posterior-median corrected), of the stack and of the best other candidate, beside the
test MdSA of the two physics columns, so that one sees whether a misspecified physics stage
wins cross-validation where it loses on the test set, and where the posterior correction
hurts.

Usage: ``python -m benchmarks.models_sim2 [--sample N] [--quick] [--out FILE.md]`` (the
options of :mod:`benchmarks.models`).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from benchmarks.models import WATER_TYPES, BenchmarkResult, measure, parse_args


def diagnosis(res: BenchmarkResult, sample: int, n_test: int) -> str:
    """Markdown table: per region-parameter, CV MdSA of the candidates and test MdSA of the
    physics columns [%]."""
    from benchmarks.sim2 import simulate_matchups
    from hsiwq.models.metrics import mdsa
    from hsiwq.models.spectra import spectra_from_table

    rows = {(r.water_type, r.parameter): r for r in res.rows}
    lines = ["| water type | parameter | chosen | test MdSA | CV chosen | CV physics | CV posterior | CV stack "
             "| best other (CV) | test physics | test posterior |", "|---" * 11 + "|"]
    for k, wt in enumerate(WATER_TYPES):
        out = res.outcomes[wt]
        test = simulate_matchups(wt, n_test, seed=100 * sample + k)
        rt, wlt = spectra_from_table(test)
        stages = next(iter(out.models.values())).stages
        names = list(stages.feature_names())
        z = stages.transform(rt, wlt)
        for pid, rep in out.reports.items():
            m = rep.metrics
            cv = {c: v["mdsa"] for c, v in m.items() if c != "selected"}
            other = min((c for c in cv if c not in ("physics", "posterior", "stack")), key=cv.get)

            def col(prefix: str) -> str:
                name = f"{prefix}_{pid}"
                if name not in names:
                    return "–"
                y = test[pid].to_numpy(float)[z.valid]
                return f"{mdsa(y, np.exp(z.design()[:, names.index(name)])):.2f}"

            def fmt(c: str) -> str:
                return f"{cv[c]:.2f}" if c in cv else "–"

            lines.append(f"| {wt} | {pid} | {rep.chosen} | {rows[wt, pid].model:.2f} | {m['selected']['mdsa']:.2f} "
                         f"| {fmt('physics')} | {fmt('posterior')} | {fmt('stack')} | {other} {cv[other]:.2f} "
                         f"| {col('phys')} | {col('post')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(["--simulator", "sim2", "--skip-timings", *(argv or sys.argv[1:])])
    warnings.filterwarnings("ignore")
    res = measure(args)
    if args.out:
        args.out.write_text(res.text + "\n", encoding="utf-8")
    text = "\n#### Diagnosis: cross-validated choice against the test set (MdSA %)\n\n" \
        + diagnosis(res, args.sample, args.test)
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
