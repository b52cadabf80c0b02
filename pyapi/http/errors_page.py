"""The error page every error envelope points at (``error.documentation_url``): one entry per
code, ``/docs/errors#<CODE>``, generated at each request from the registry the app loaded at
start-up (``api.error_codes``: name, HTTP status, meaning) plus the few transport answers the HTTP
layer gives before any database call. What to do is told by the HTTP status class; the answer's
``details.hint`` says it for the case at hand."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from ..envelope import ERRORS_PAGE

router = APIRouter(tags=["core"])

# Answers of the HTTP layer itself, not of the database: name -> (status, meaning).
HTTP_ONLY = {
    "NOT_FOUND": (404, "No route answers this path."),
    "METHOD_NOT_ALLOWED": (405, "The route exists, but not for this HTTP method."),
    "PAYLOAD_TOO_LARGE": (413, "The body is larger than the API accepts (details.limit_bytes)."),
    "UNSUPPORTED_MEDIA_TYPE": (415, "The body is not JSON."),
}

_WHAT_TO_DO = {
    400: "Fix the request: details.detail (or details.errors) names the field and what was expected. Retrying unchanged fails again.",
    401: "Send a valid API key in X-API-Key (or Authorization: Bearer); ask the hotel's administrator for a new key if it was revoked.",
    402: "The payment was declined: ask the guest for another card. Nothing was booked.",
    403: "This system or hotel scope may not do it (seed 000's responsibility matrix): call the system that owns the data, or use a key of that hotel.",
    404: "Check the id, and that it belongs to a hotel of your API key: ids of other hotels answer 404 like ids that do not exist.",
    405: "Use the method the OpenAPI document (/docs) gives for this path.",
    409: "The data's state does not allow it now: read it again (details.detail names the state), then retry or choose another action as details.hint says.",
    410: "It expired: start again (a new hold, a new request).",
    413: "Send a smaller body.",
    415: "Send Content-Type: application/json.",
    422: "A rule refused the request as sent: change it as details.hint says.",
    500: "An unexpected error; nothing was written. Retry later and report the request_id if it persists.",
    501: "Not offered by this release.",
    502: "The payment provider failed; the booking was rolled back. Retry later.",
    503: "Writes are paused or the service is busy: retry after error.retry_after milliseconds.",
}


def entries(request: Request) -> list[tuple[str, int, str]]:
    """(name, HTTP status, meaning) of every code an answer may carry, by name."""
    codes = {
        name: (code.http_status, code.meaning) for name, code in request.app.state.hc.errors.by_name.items()
    }
    codes |= {name: spec for name, spec in HTTP_ONLY.items() if name not in codes}
    return sorted((name, status, meaning) for name, (status, meaning) in codes.items())


@router.get(ERRORS_PAGE, response_class=HTMLResponse, include_in_schema=True)
def errors_page(request: Request) -> HTMLResponse:
    """Every error code: its name (the anchor), HTTP status, meaning and what to do."""
    rows = []
    for name, status, meaning in entries(request):
        todo = _WHAT_TO_DO.get(status, _WHAT_TO_DO[500 if status >= 500 else 400])
        rows.append(
            f'<section id="{html.escape(name)}"><h2><a href="#{html.escape(name)}">{html.escape(name)}</a></h2>'
            f"<p><b>HTTP {status}</b></p><p>{html.escape(meaning)}</p>"
            f"<p><i>What to do:</i> {html.escape(todo)}</p></section>"
        )
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>hotelcore error codes</title>"
        "<style>body{font:15px/1.5 system-ui;max-width:52rem;margin:2rem auto}section{border-top:1px solid #ddd}"
        "h2{font-size:1.05rem;font-family:monospace}</style>"
        "<h1>Error codes</h1><p>Every error answer is seed 000's envelope; <code>error.code</code> is one of the "
        "names below, <code>error.documentation_url</code> links here, and <code>error.details</code> carries "
        "the case's detail and hint.</p>" + "".join(rows) + "</html>"
    )
    return HTMLResponse(page)
