"""hsiwq — hyperspectral water-quality inversion for shore-mounted monitors.

The library never imports Prefect; orchestration lives in the separate ``flows`` package.
"""

__version__ = "0.1.0"
