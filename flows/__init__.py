"""Prefect orchestration of hsiwq: thin flows over library calls.

Nothing in ``hsiwq`` imports this package; it adds the ``demo`` and ``run-site`` commands to
the ``hsiwq`` CLI through the ``hsiwq.commands`` entry-point group.
"""
