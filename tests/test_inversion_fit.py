"""The spectral inversion's fitting strategy (``hsiwq.retrieval.inversion``): a batch seeded
from its median spectrum's fit finds the minima that every starting point finds, and gives a
spectrum the values it gets alone; noise-free spectra are fitted exactly, also with a
constituent at its bound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsiwq.bio_optics.forward import ForwardModel, forward_ln
from hsiwq.retrieval import inversion
from hsiwq.retrieval.inversion import GENERIC_INLAND, invert_spectra
from hsiwq.simulate.matchups import simulate_matchups

WATERS = ("eutrophic_lake", "clear_reservoir", "sediment_river")


def mixed_spectra(seed: int, n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    frames = pd.concat([simulate_matchups(w, n, seed=seed) for w in WATERS])
    cols = [c for c in frames.columns if c.startswith("Rrs_")]
    return frames[cols].to_numpy(float), np.array([float(c[4:]) for c in cols])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_seeded_batch_finds_the_minima_of_every_start(seed):
    x, wl = mixed_spectra(seed)
    sel = (wl >= 410) & (wl <= 800)
    fm = ForwardModel(wl[sel], GENERIC_INLAND)
    obs = x[:, sel]
    usable = np.all(obs > 0, axis=1)
    y = np.log(np.where(obs > 0, obs, 1e-6))
    assert usable.sum() >= inversion.SEED_BATCH
    p_all, cost_all = inversion._multistart(fm, y, 40)
    p_seed, cost_seed = inversion._fit(fm, y, usable, 40)
    u = usable
    # never a worse minimum than the best of every start (1 % on the cost) ...
    assert np.all(cost_seed[u] <= cost_all[u] * 1.01 + 1e-12)
    # ... and the same concentrations (0.05 in ln, 5 %) for all but a few spectra
    same = np.abs(p_seed[u] - p_all[u]).max(axis=1) < 0.05
    assert same.mean() >= 0.99, same.mean()


def test_one_spectrum_gives_the_same_values_alone_and_in_a_batch():
    x, wl = mixed_spectra(4, n=40)
    batch = invert_spectra(x, wl)
    for i in (0, 45, 90, 119):  # one of each water type and one more
        alone = invert_spectra(x[i], wl)
        for name in ("chl_a", "tss", "cdom"):
            a, b = getattr(alone, name)[0], getattr(batch, name)[i]
            assert b == pytest.approx(a, rel=0.02), (i, name, a, b)


@pytest.mark.parametrize(("conc", "held"), [
    ((0.08, 0.01, 2.0, 0.3), 1),    # clear water: phycocyanin at its lower bound
    ((40.0, 0.01, 15.0, 1.2), 1),   # a lake without cyanobacteria
    ((5.0, 1.0, 3000.0, 0.005), 3),  # a sediment river without CDOM (its lower bound)
])
def test_noise_free_spectra_are_fitted_exactly_with_a_constituent_at_its_bound(conc, held):
    """The forward model's own spectrum at known concentrations (one of them at its lower
    bound) is recovered to 0.1 %: a check of the optimiser, not of the physics."""
    wl = np.arange(410.0, 800.1, 4.0)
    fm = ForwardModel(wl, GENERIC_INLAND)
    p = np.log(np.atleast_2d(conc))
    assert p[0, held] == pytest.approx(inversion._LOWER[held])
    rrs = forward_ln(fm.shapes, p, g0=fm.g0, g1=fm.g1)
    got = invert_spectra(rrs, wl)
    for k, name in enumerate(("chl_a", "phycocyanin", "tss", "cdom")):
        assert getattr(got, name)[0] == pytest.approx(conc[k], rel=1e-3), name
