"""Property-based check of the served OpenAPI document: no input makes the server answer 5xx."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import httpx
import pytest

ST_TIMEOUT_S = 240


def test_openapi_document(reference_server):
    doc = httpx.get(reference_server.url + "/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = doc["paths"]
    for template in ("/api/v1/customers/{id}", "/api/v1/customers/by-status/{status}",
                     "/api/v1/orders/by-customer/{customerId}",
                     "/api/v1/invoices/by-invoice-number/{invoiceNumber}",
                     "/api/services/activations/{activationId}/deactivate",
                     "/api/services/by-category/{category}", "/api/services/by-type/{type}",
                     "/api/assets/{assetId}/assign", "/api/assets/elements/{elementId}/heartbeat",
                     "/api/assets/sim-cards/{simId}/assign", "/api/assets/by-customer/{customerId}",
                     "/api/assets/sim-cards/by-customer/{customerId}", "/api/subscriptions/{id}/renew"):
        assert template in paths, template
    op = paths["/api/v1/customers"]["post"]
    assert op["security"] == [{"bearerAuth": []}] and "requestBody" in op
    assert "201" in op["responses"] and "422" not in op["responses"]


@pytest.mark.slow
@pytest.mark.timeout(ST_TIMEOUT_S + 30)
def test_schemathesis_finds_no_server_error(reference_server, tmp_path):
    st = shutil.which("st", path=os.path.dirname(sys.executable)) or shutil.which("st")
    if st is None:
        pytest.skip("schemathesis CLI not installed: pip install 'schemathesis>=4.0'")
    token = reference_server.token("bss-loadtest-16")
    cmd = [st, "run", reference_server.url + "/openapi.json", "--checks", "not_a_server_error",
           "--header", f"Authorization: Bearer {token}", "--phases", "examples,coverage,fuzzing",
           "--max-examples", "10", "--workers", "1", "--request-timeout", "10", "--seed", "1",
           "--max-failures", "20", "--no-color"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=ST_TIMEOUT_S,
                            cwd=tmp_path, env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Server error" not in output
