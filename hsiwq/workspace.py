"""Where hsiwq keeps its state: one folder, chosen by ``--home`` or ``HSIWQ_HOME``.

Everything the product writes — the store, the model registry, alert state and outbox,
site inboxes, archive and quarantine, Prefect's home — lives under this one folder, so a
test or a user can run everything in a temporary folder. An empty or missing folder works:
sub-folders are created on first use and the bundled default configuration applies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .ids import require_id

#: Environment variable naming the workspace folder.
HOME_ENV = "HSIWQ_HOME"
#: Environment variable naming a sensor calibration folder (overrides the default).
CALIBRATION_ENV = "HSIWQ_CALIBRATION"

_PACKAGE_ROOT = Path(__file__).resolve().parent


def default_home() -> Path:
    """The workspace used when neither ``--home`` nor ``HSIWQ_HOME`` is given."""
    return Path.home() / ".hsiwq"


def bundled_calibration_dir() -> Path:
    """The sensor calibrations shipped with the project (``calibration/sensors``)."""
    repo = _PACKAGE_ROOT.parent / "calibration" / "sensors"
    return repo if repo.is_dir() else _PACKAGE_ROOT / "data" / "sensors"


@dataclass(frozen=True)
class Workspace:
    """The folder holding all of hsiwq's state.

    Parameters
    ----------
    root : Path
        The workspace folder (created on first write).
    """

    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Workspace:
        """The workspace named by ``home``, else by ``HSIWQ_HOME`` (if non-empty), else the default."""
        chosen = home if home not in (None, "") else os.environ.get(HOME_ENV) or None
        root = Path(chosen).expanduser() if chosen else default_home()
        return cls(root.resolve())

    # --- layout -----------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        """Site configuration of this workspace (``sites.toml``); optional."""
        return self.root / "sites.toml"

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    def store_path(self, site: str) -> Path:
        """Zarr store of one site (``site`` must be a valid id, see :mod:`hsiwq.ids`)."""
        return self.store_dir / f"{require_id(site, where='site')}.zarr"

    @property
    def registry_dir(self) -> Path:
        return self.root / "registry"

    @property
    def alerts_dir(self) -> Path:
        return self.root / "alerts"

    @property
    def event_log(self) -> Path:
        """Structured log of the workspace's events, JSON lines (:mod:`hsiwq.logs`)."""
        return self.root / "logs" / "hsiwq.jsonl"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"

    def inbox(self, site: str) -> Path:
        return self.root / "inbox" / require_id(site, where="site")

    def archive(self, site: str) -> Path:
        return self.root / "archive" / require_id(site, where="site")

    def quarantine(self, site: str) -> Path:
        return self.root / "quarantine" / require_id(site, where="site")

    @property
    def calibration_dir(self) -> Path:
        """Sensor calibrations: ``HSIWQ_CALIBRATION``, else ``<home>/calibration/sensors``
        when it exists, else the project's bundled ``calibration/sensors``."""
        env = os.environ.get(CALIBRATION_ENV)
        if env:
            return Path(env).expanduser().resolve()
        own = self.root / "calibration" / "sensors"
        return own if own.is_dir() else bundled_calibration_dir()

    @property
    def regions_dir(self) -> Path:
        """Regional SIOP files: ``<home>/calibration/regions`` when it exists, else the
        project's bundled ``calibration/regions``."""
        own = self.root / "calibration" / "regions"
        return own if own.is_dir() else bundled_calibration_dir().parent / "regions"

    def ensure(self) -> Workspace:
        """Create the workspace folder if needed and return self."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self
