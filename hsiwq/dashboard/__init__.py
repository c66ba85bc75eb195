"""A small, local, read-only web dashboard over a workspace (standard library only).

``hsiwq dashboard`` lists the configured sites with their latest values and the alerts that
are firing, and links to each site's report, rendered on demand into
``<home>/reports/dashboard/``. It binds to loopback by default; bound to any other address it
requires a token (``--token`` or ``HSIWQ_DASHBOARD_TOKEN``) on every request.
"""

from .app import Dashboard, Response, is_loopback
from .server import DashboardServer, serve

__all__ = ["Dashboard", "DashboardServer", "Response", "is_loopback", "serve"]
