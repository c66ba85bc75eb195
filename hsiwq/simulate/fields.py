"""Reproducible random numbers and spatially smooth random fields."""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent, reproducible random generator for a named stream.

    Parameters
    ----------
    seed : int
        Scene seed (≥ 0).
    *keys : str or int
        Names of the stream (e.g. ``"chl"`` or ``"water", 17`` for line 17); strings are
        hashed with CRC-32, so streams do not depend on Python's hash randomisation.

    Returns
    -------
    numpy.random.Generator
        PCG64 generator seeded from ``(seed, *keys)``.
    """
    entropy = [int(seed)] + [zlib.crc32(k.encode()) if isinstance(k, str) else int(k)
                             for k in keys]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def smooth_field(shape: tuple[int, int], rng: np.random.Generator,
                 correlation_px: float | None = None) -> np.ndarray:
    """A zero-mean, unit-variance Gaussian random field with a Gaussian correlation.

    White noise filtered in the Fourier domain (periodic boundaries).

    Parameters
    ----------
    shape : tuple of int
        (lines, samples) [pixels].
    rng : numpy.random.Generator
        Source of the white noise.
    correlation_px : float, optional
        Correlation length (standard deviation of the Gaussian kernel) [pixels]; default
        20 % of the larger dimension.

    Returns
    -------
    ndarray
        Field of shape ``shape`` [-]; zero everywhere for a field too small to vary.
    """
    ny, nx = shape
    noise = rng.standard_normal((ny, nx))
    if correlation_px is None:
        correlation_px = 0.2 * max(ny, nx)
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.rfftfreq(nx)[None, :]
    kernel = np.exp(-2.0 * (np.pi * correlation_px) ** 2 * (fy**2 + fx**2))
    field = np.fft.irfft2(np.fft.rfft2(noise) * kernel, s=(ny, nx))
    field -= field.mean()
    sd = field.std()
    return field / sd if sd > 1e-12 else np.zeros((ny, nx))


def smooth_profile(n: int, rng: np.random.Generator, correlation_px: float) -> np.ndarray:
    """A zero-mean, unit-variance smooth 1-D random profile.

    Parameters
    ----------
    n : int
        Length [pixels].
    rng : numpy.random.Generator
        Source of the white noise.
    correlation_px : float
        Correlation length [pixels].

    Returns
    -------
    ndarray
        Profile of length ``n`` [-].
    """
    return smooth_field((1, n), rng, correlation_px)[0]
