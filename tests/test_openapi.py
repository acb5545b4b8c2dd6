"""openapi.yaml is generated from the app; this fails when the committed file drifts."""

from __future__ import annotations

from tests.conftest import ROOT
from textsvc.app import create_app, openapi_yaml
from textsvc.settings import Settings


def test_committed_openapi_matches_the_app():
    generated = openapi_yaml(create_app(Settings()))
    committed = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert committed == generated, "openapi.yaml is stale: run `textsvc openapi --output openapi.yaml`"
