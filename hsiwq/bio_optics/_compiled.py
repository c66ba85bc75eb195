"""The forward model's plain-arithmetic functions, made callable from numba kernels.

Importing this module registers every function of
:data:`hsiwq.bio_optics.forward.KERNEL_FUNCTIONS` with numba (``numba.extending.overload``,
inlined), so that a ``@njit`` kernel calls *the* functions of :mod:`hsiwq.bio_optics.forward`
on scalars — the same source as the numpy path, not a copy. Imported only by kernels (numba
is heavy to import).

Numba's on-disk cache of a kernel checks the kernel's own file only: after editing
:mod:`hsiwq.bio_optics.forward`, delete the ``__pycache__/*.nbi``/``*.nbc`` files of the
kernel module (a fresh install has none; tests compare the compiled and numpy paths).
"""

from __future__ import annotations

from numba.extending import overload

from .forward import KERNEL_FUNCTIONS


def _register(fn) -> None:
    overload(fn, strict=False, inline="always")(lambda *args, **kwargs: fn)


for _fn in KERNEL_FUNCTIONS:
    _register(_fn)
