"""Service API (contract §7): catalogue, activations, eligibility."""

from __future__ import annotations

import uuid

from .conftest import assert_problem, make_customer

BASE = "/api/services"


def test_catalogue_lists_are_arrays_of_active_services(api):
    services = api.get(BASE).json()
    assert isinstance(services, list) and len(services) >= 6
    assert all(s["status"] == "ACTIVE" and s["active"] for s in services)
    assert [s["name"] for s in services] == sorted(s["name"] for s in services)
    assert "LEGACY-DSL" not in {s["serviceCode"] for s in services}
    assert len({s["serviceType"] for s in services}) >= 4
    keys = {"id", "serviceCode", "name", "serviceType", "category", "status",
            "dependsOnServiceCodes", "serviceName", "active", "autoProvision", "deletedAt"}
    assert keys <= set(services[0])
    internet = api.get(f"{BASE}/by-type/INTERNET").json()
    assert [s["serviceCode"] for s in internet] == ["INTERNET-FIBER"]
    assert {s["serviceCode"] for s in api.get(f"{BASE}/by-category/BROADBAND").json()} == {
        "INTERNET-FIBER", "STATIC-IP"}
    assert_problem(api.get(f"{BASE}/by-type/RADIO"), 400, "type")


def test_activation_life_cycle_and_eligibility(api):
    c = make_customer(api)
    elig = api.post(f"{BASE}/check-eligibility", params={"customerId": c["id"],
                                                         "serviceCode": "IPTV-BASIC"})
    assert elig.status_code == 200 and elig.json()["eligible"] is False
    assert "INTERNET-FIBER" in elig.json()["reason"]
    r = api.post(f"{BASE}/activations", json={"customerId": c["id"], "serviceCode": "IPTV-BASIC"})
    assert_problem(r, 409)
    r = api.post(f"{BASE}/activations", json={"customerId": c["id"], "serviceCode": "INTERNET-FIBER",
                                              "activationNotes": "go"})
    assert r.status_code == 200
    act = r.json()
    assert act["status"] == "ACTIVE" and act["correlationId"].startswith("ACTIVATION-")
    assert [s["stepName"] for s in act["steps"]] == ["Validate", "Allocate", "Provision", "Verify"]
    assert api.get(f"{BASE}/activations/{act['id']}").json() == act
    assert_problem(api.post(f"{BASE}/activations",
                            json={"customerId": c["id"], "serviceCode": "INTERNET-FIBER"}), 409)
    elig = api.post(f"{BASE}/check-eligibility", params={"customerId": c["id"], "serviceCode": "IPTV-BASIC"})
    assert elig.json() == {"eligible": True, "reason": None}
    tv = api.post(f"{BASE}/activations", json={"customerId": c["id"], "serviceCode": "IPTV-BASIC"}).json()
    assert len(tv["steps"]) == 5 and tv["steps"][1]["stepName"] == "Verify Dependencies"
    listed = api.get(f"{BASE}/activations", params={"customerId": c["id"]}).json()
    assert {a["id"] for a in listed} == {act["id"], tv["id"]}
    r = api.post(f"{BASE}/activations/{tv['id']}/deactivate",
                 json={"activationId": tv["id"], "deactivationNotes": "bye"})
    assert r.status_code == 200 and r.json()["status"] == "DEPROVISIONING" and len(r.json()["steps"]) == 8
    assert_problem(api.post(f"{BASE}/activations/{tv['id']}/deactivate",
                            json={"activationId": tv["id"]}), 409)
    assert [a["id"] for a in api.get(f"{BASE}/activations", params={"customerId": c["id"]}).json()] == [act["id"]]


def test_pending_scheduled_and_errors(api):
    c = make_customer(api)
    pending = api.post(f"{BASE}/activations", json={"customerId": c["id"],
                                                    "serviceCode": "SUPPORT-PREMIUM"}).json()
    assert pending["status"] == "PENDING" and all(s["status"] == "PENDING" for s in pending["steps"])
    assert_problem(api.post(f"{BASE}/activations/{pending['id']}/deactivate",
                            json={"activationId": pending["id"]}), 409)
    sched = api.post(f"{BASE}/activations", json={"customerId": c["id"], "serviceCode": "VOIP-LINE",
                                                  "scheduledDate": "2030-01-01T10:00:00"}).json()
    assert sched["status"] == "SCHEDULED" and sched["scheduledDate"] == "2030-01-01T10:00:00.000"
    assert_problem(api.post(f"{BASE}/activations", json={"customerId": c["id"],
                                                         "serviceCode": "NOPE"}), 404)
    assert_problem(api.post(f"{BASE}/activations", json={"customerId": str(uuid.uuid4()),
                                                         "serviceCode": "VOIP-LINE"}), 404)
    assert_problem(api.post(f"{BASE}/activations", json={"customerId": c["id"],
                                                         "serviceCode": "LEGACY-DSL"}), 409)
    assert_problem(api.post(f"{BASE}/activations", json={"serviceCode": "VOIP-LINE"}), 400, "customerId")
    unknown = str(uuid.uuid4())
    assert_problem(api.post(f"{BASE}/activations/{unknown}/deactivate", json={"activationId": unknown}), 404)
    assert_problem(api.post(f"{BASE}/activations/{unknown}/deactivate",
                            json={"activationId": pending["id"]}), 400, "activationId")
    r = api.get(f"{BASE}/activations/{unknown}")
    assert r.status_code == 404 and r.content == b""
    assert_problem(api.get(f"{BASE}/activations/xyz"), 400, "activationId")
    assert_problem(api.get(f"{BASE}/activations"), 400, "customerId")
    assert_problem(api.get(f"{BASE}/activations", params={"customerId": unknown}), 404)
    r = api.post(f"{BASE}/check-eligibility", params={"customerId": unknown, "serviceCode": "VOIP-LINE"})
    assert r.status_code == 200 and r.json()["eligible"] is False
    assert_problem(api.post(f"{BASE}/check-eligibility", params={"customerId": c["id"]}), 400, "serviceCode")
