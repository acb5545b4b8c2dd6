"""textsvc: tells a genuine, personal contact request from boilerplate and mass-sent templates."""

from __future__ import annotations

__version__ = "0.1.0"
