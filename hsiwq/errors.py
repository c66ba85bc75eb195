"""Exceptions raised by hsiwq.

Every error a user can cause carries the file (or object) it concerns and the problem in one
line, so that the CLI can print ``hsiwq: error: <where>: <problem>`` without a traceback.
"""

from __future__ import annotations

from os import PathLike


class HsiwqError(Exception):
    """Base class of the errors hsiwq reports to users.

    Parameters
    ----------
    where : str or path-like
        The file, bundle, key or object the problem concerns.
    problem : str
        One line saying what is wrong (and, where possible, how to fix it).
    """

    def __init__(self, where: str | PathLike[str], problem: str) -> None:
        self.where = str(where)
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.where}: {self.problem}")

    def __reduce__(self):  # picklable across processes (Dask workers, Prefect results)
        return (self.__class__, (self.where, self.problem))


class BundleError(HsiwqError):
    """An acquisition bundle cannot be read (missing, truncated or inconsistent files)."""


class ConflictError(BundleError):
    """A bundle's acquisition time is already stored from a bundle of other content."""


class CalibrationError(HsiwqError):
    """A sensor calibration is missing, invalid or does not apply."""


class ConfigError(HsiwqError):
    """A configuration file or option is invalid."""


class StoreError(HsiwqError):
    """The result store cannot be read or written."""


class MissingExtraError(HsiwqError):
    """A feature needs an optional extra (``pip install 'hsiwq[<extra>]'``) that is missing."""


def require_extra(module: str, extra: str, where: str | PathLike[str]) -> None:
    """Import ``module`` or raise a one-line :class:`MissingExtraError` naming ``extra``.

    Parameters
    ----------
    module : str
        A module of the extra, e.g. ``"s3fs"``.
    extra : str
        The extra of ``pyproject.toml`` that installs it (``dask``, ``s3``, ``numba``).
    where : str or path-like
        What needs it (a URL, a setting), for the message.
    """
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(where, f"needs the optional extra '{extra}' ({module} is not "
                                       f"installed): pip install 'hsiwq[{extra}]'") from None


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may pass if tried again: I/O and object-store connection errors.

    ``OSError`` (disk, network; s3fs maps most S3 errors to it) and botocore's connection and
    HTTP-client errors (endpoint unreachable, timeouts), never an :class:`HsiwqError` (bad
    data stays bad).
    """
    if isinstance(exc, HsiwqError):
        return False
    if isinstance(exc, OSError):  # includes ConnectionError, TimeoutError
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - botocore comes with s3fs
        return False
    return isinstance(exc, (BotoConnectionError, HTTPClientError))
