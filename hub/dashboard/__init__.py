"""The hub's barometer dashboard: the JSON the page draws (``data``), its template and its offline chart script."""

from pathlib import Path

from hub.dashboard.data import COUNTRY_NAMES, UNIT_LABELS, DashboardError, dashboard_json, options_json

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

__all__ = ["COUNTRY_NAMES", "UNIT_LABELS", "DashboardError", "dashboard_json", "options_json", "TEMPLATES", "STATIC"]
