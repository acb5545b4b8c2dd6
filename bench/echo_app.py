"""A minimal Litestar app echoing a JSON body: the baseline for bench/load.py's ratio."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, post


@post("/echo", status_code=200)
async def echo(data: dict[str, Any]) -> dict[str, Any]:
    return data


def create_app() -> Litestar:
    return Litestar([echo])
