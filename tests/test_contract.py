"""Contract tests: schemathesis drives the app from its own OpenAPI document (in-process).

No 5xx for anything a client can send, and every response (problem+json included) conforms to
the schema. Excluded: ``negative_data_rejection``, because the API is a tolerant reader by
design (Litestar converts request bodies with msgspec's lax mode: ``0``/``1`` for booleans and
numeric strings for numbers are accepted, as are unknown fields); and ``positive_data_acceptance``,
because some schema-valid requests are refused by documented rules the schema cannot express (an
unsupported ``language`` is a 422, a forged paging cursor or feedback naming nothing a 400); and
``allow_header_conformance``: Litestar's automatic OPTIONS answer lists the methods of one handler
per path only (seen on 2.25), which is not ours to fix here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")

from tests.conftest import CORPORA  # noqa: E402
from textsvc.app import create_app  # noqa: E402
from textsvc.settings import Settings  # noqa: E402

_DB = Path(tempfile.mkdtemp(prefix="textsvc-contract-")) / "contract.db"
KEY = "contract-key"
app = create_app(Settings(db_path=_DB, corpora_dir=CORPORA, api_keys=(KEY,)))
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    case.call_and_validate(headers={"X-API-Key": KEY}, excluded_checks=[schemathesis.checks.negative_data_rejection,
                                            schemathesis.checks.positive_data_acceptance,
                                            schemathesis.checks.allow_header_conformance])
