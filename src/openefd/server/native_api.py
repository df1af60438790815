"""openefd's native HTTP API (``/api/v1/...``): JSON and Arrow IPC for the HTTP client."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
