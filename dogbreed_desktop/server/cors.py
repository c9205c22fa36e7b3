"""Cross-origin requests, off unless `serve --allow-origin` names the web pages that may read the answers.

A page from another origin (the original React front end on its own port, say) can only read the API's answers
if they carry `Access-Control-Allow-Origin` for it. Without the flag there is no CORS header at all, so no web
page the user happens to visit can read what the local server says.
"""

from __future__ import annotations

from typing import Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware


def allow_origins(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer preflights and add `Access-Control-Allow-Origin` for `origins` only (`*`: any); none: no CORS."""
    if origins:
        # No expose_headers: Starlette would send it to every origin, allowed or not.
        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST"],
                           allow_headers=["*"])
