"""Token endpoint and bearer-token checks (contract §1.1)."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from .conftest import assert_problem

TOKEN = "/realms/bss/protocol/openid-connect/token"


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_token_endpoint_answers_keycloak_shape(reference_server):
    r = httpx.post(reference_server.url + TOKEN, data={
        "grant_type": "client_credentials", "client_id": "bss-loadtest-07", "client_secret": "bss-secret"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "refresh_expires_in", "token_type",
                         "not-before-policy", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["refresh_expires_in"] == 0 and body["scope"] == "profile email"
    header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    assert header["alg"] == "HS256"
    claims = _claims(body["access_token"])
    assert claims["iss"] == reference_server.url + "/realms/bss"
    assert claims["sub"] == "service-account-bss-loadtest-07" and claims["azp"] == "bss-loadtest-07"
    assert claims["exp"] - claims["iat"] == 300


def test_http_basic_credentials(reference_server):
    r = httpx.post(reference_server.url + TOKEN, data={"grant_type": "client_credentials"},
                   auth=("bss-loadtest-16", "bss-secret"))
    assert r.status_code == 200
    assert _claims(r.json()["access_token"])["azp"] == "bss-loadtest-16"


@pytest.mark.parametrize("form,status,error", [
    ({"grant_type": "client_credentials", "client_id": "bss-backend", "client_secret": "wrong"},
     401, "unauthorized_client"),
    ({"grant_type": "client_credentials", "client_id": "bss-loadtest-17", "client_secret": "bss-secret"},
     401, "unauthorized_client"),
    ({"grant_type": "client_credentials"}, 401, "unauthorized_client"),
    ({"grant_type": "password", "client_id": "bss-backend", "client_secret": "bss-secret"},
     400, "unsupported_grant_type"),
    ({}, 400, "invalid_request"),
])
def test_token_errors(reference_server, form, status, error):
    r = httpx.post(reference_server.url + TOKEN, data=form)
    assert r.status_code == status
    assert r.json()["error"] == error and r.json()["error_description"]


def test_api_requires_a_valid_bearer_token(reference_server):
    url = reference_server.url + "/api/v1/customers"
    r = httpx.get(url)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    r = httpx.get(url, headers={"Authorization": "Bearer not.a.token"})
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    token = reference_server.token()
    h, p, s = token.split(".")
    forged = f"{h}.{p}.{s[:-2]}AA"
    assert httpx.get(url, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Basic {token}"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # unmatched /api paths are also protected; public endpoints are public
    assert httpx.get(reference_server.url + "/api/nope").status_code == 401
    for path in ("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness",
                 "/actuator/info", "/actuator/prometheus", "/openapi.json"):
        assert httpx.get(reference_server.url + path).status_code == 200, path


def test_token_from_another_server_is_rejected(reference_server, reference_server_factory):
    other = reference_server_factory()
    token = other.token()
    r = httpx.get(reference_server.url + "/api/products", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


@pytest.mark.slow
def test_expired_token_is_401(reference_server_factory):
    server = reference_server_factory(extra_args=["--token-ttl", "1", "--client-secret", "s3"])
    token = server.token(client_secret="s3")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(server.url + "/api/products", headers=headers).status_code == 200
    time.sleep(2.1)
    assert_problem(httpx.get(server.url + "/api/products", headers=headers), 401)


def test_secret_from_environment_and_no_auth(reference_server_factory):
    server = reference_server_factory(env={"BSS_CLIENT_SECRET": "from-env"}, extra_args=["--no-auth"])
    assert httpx.get(server.url + "/api/products").status_code == 200
    r = httpx.post(server.url + TOKEN, data={"grant_type": "client_credentials",
                                            "client_id": "bss-backend", "client_secret": "from-env"})
    assert r.status_code == 200
    # without auth, writes are attributed to SYSTEM
    c = httpx.post(server.url + "/api/v1/customers", json={"firstName": "No", "lastName": "Auth",
                                                          "email": "n@a.pl"}).json()
    o = httpx.post(server.url + "/api/v1/orders", json={
        "orderNumber": "O-1", "customerId": c["id"], "orderType": "NEW", "status": "DRAFT",
        "priority": "LOW", "totalAmount": 1}).json()
    assert o["createdBy"] == "SYSTEM"
