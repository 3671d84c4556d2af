"""The operations dashboard (`/dashboard`): one static page that reads the reporting API.

The page and its scripts are public and hold no data; every figure comes from the API with
the key the user enters (the reporting role is enough; the replayed points ledger needs the
auditor or reporting role). Charts use Plotly's JavaScript bundle from the installed `plotly`
package, served by the app: no CDN, so it works without internet.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from interfaces.http.problems import ApiError

STATIC = Path(__file__).parent / "static"
# Only our own origin: scripts and styles from this app (Plotly adds inline styles), data via fetch.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}

router = APIRouter(include_in_schema=False)


def plotly_bundle() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@router.get("/dashboard")
def dashboard() -> HTMLResponse:
    """The dashboard page."""
    return HTMLResponse((STATIC / "dashboard.html").read_text(encoding="utf-8"), headers=HEADERS)


@router.get("/dashboard/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """Plotly's bundle from the installed package (cached by the browser for a day)."""
    return FileResponse(plotly_bundle(), media_type="text/javascript",
                        headers={**HEADERS, "Cache-Control": "public, max-age=86400"})


@router.get("/dashboard/static/{name}")
def asset(name: str) -> FileResponse:
    """The page's own script and style sheet."""
    if name not in ASSETS:
        raise ApiError(404, "not_found", "no such file")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers=HEADERS)
