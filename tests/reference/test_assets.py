"""Asset API (contract §8): assets, network elements, SIM cards."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from .conftest import assert_problem, uniq

BASE = "/api/assets"


def test_asset_life_cycle(api):
    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    r = api.post(BASE, json={"assetTag": uniq("TAG-"), "assetType": "ROUTER", "name": "Router",
                             "warrantyExpiry": soon})
    assert r.status_code == 200
    a = r.json()
    assert a["status"] == "AVAILABLE" and "version" not in a and "createdAt" not in a
    assert_problem(api.post(BASE, json={"assetTag": a["assetTag"], "assetType": "ROUTER", "name": "R"}), 409)
    owner = str(uuid.uuid4())
    r = api.post(f"{BASE}/{a['id']}/assign", json={"assignedToType": "CUSTOMER",
                                                   "assignedToId": owner, "assignedToName": "Jan"})
    assert r.status_code == 200 and r.json()["status"] == "IN_USE"
    assert r.json()["assignedDate"] == dt.date.today().isoformat()
    assert_problem(api.post(f"{BASE}/{a['id']}/assign", json={"assignedToType": "CUSTOMER",
                                                              "assignedToId": owner,
                                                              "assignedToName": "Jan"}), 409)
    assert [x["id"] for x in api.get(f"{BASE}/by-customer/{owner}").json()] == [a["id"]]
    assert a["id"] not in [x["id"] for x in api.get(f"{BASE}/available").json()]
    assert a["id"] in [x["id"] for x in api.get(f"{BASE}/warranty-expiring", params={"days": 30}).json()]
    assert a["id"] not in [x["id"] for x in api.get(f"{BASE}/warranty-expiring", params={"days": 5}).json()]
    r = api.post(f"{BASE}/{a['id']}/release")
    assert r.status_code == 200 and r.json()["status"] == "AVAILABLE" and r.json()["assignedToId"] is None
    assert_problem(api.post(f"{BASE}/{a['id']}/release"), 409)
    assert a["id"] in [x["id"] for x in api.get(BASE).json()]
    assert_problem(api.post(f"{BASE}/{uuid.uuid4()}/release"), 404)
    assert_problem(api.post(f"{BASE}/{uuid.uuid4()}/assign", json={"assignedToType": "C",
                                                                   "assignedToId": "1",
                                                                   "assignedToName": "n"}), 404)
    assert_problem(api.post(f"{BASE}/{a['id']}/assign", json={"assignedToType": "C"}), 400, "assignedToId")


@pytest.mark.parametrize("field,value", [("assetType", "router"), ("assetTag", None), ("name", "")])
def test_asset_validation(api, field, value):
    body = {"assetTag": uniq("TAG-"), "assetType": "MODEM", "name": "Modem", field: value}
    if value is None:
        body.pop(field)
    assert_problem(api.post(BASE, json=body), 400, field)


def test_network_elements(api):
    eid = uniq("NE-")
    r = api.post(f"{BASE}/elements", json={"elementId": eid, "elementType": "OLT", "name": "OLT 1",
                                            "portCount": 48})
    assert r.status_code == 200
    ne = r.json()
    assert ne["status"] == "ACTIVE" and ne["isOnline"] is False
    assert_problem(api.post(f"{BASE}/elements", json={"elementId": eid, "elementType": "OLT",
                                                      "name": "dup"}), 409)
    assert ne["id"] not in [x["id"] for x in api.get(f"{BASE}/elements/online").json()]
    r = api.post(f"{BASE}/elements/{eid}/heartbeat")
    assert r.status_code == 200 and r.content == b""
    assert api.post(f"{BASE}/elements/{ne['id']}/heartbeat").status_code == 200
    online = api.get(f"{BASE}/elements/online").json()
    assert ne["id"] in [x["id"] for x in online] and all(x["isOnline"] for x in online)
    m = api.post(f"{BASE}/elements", json={"elementId": uniq("NE-"), "elementType": "SW",
                                           "name": "sw", "status": "MAINTENANCE"}).json()
    assert m["id"] in [x["id"] for x in api.get(f"{BASE}/elements/maintenance").json()]
    assert ne["id"] in [x["id"] for x in api.get(f"{BASE}/elements").json()]
    assert_problem(api.post(f"{BASE}/elements/nope-{uuid.uuid4()}/heartbeat"), 404)
    assert_problem(api.post(f"{BASE}/elements", json={"elementType": "x", "name": "y"}), 400, "elementId")


def test_sim_cards(api):
    iccid = "8948" + uuid.uuid4().int.__str__()[:15]
    r = api.post(f"{BASE}/sim-cards", json={"iccid": iccid, "msisdn": "48600100200",
                                            "expiryDate": "2020-01-01"})
    assert r.status_code == 200
    sim = r.json()
    assert sim["status"] == "AVAILABLE"
    assert sim["id"] in [x["id"] for x in api.get(f"{BASE}/sim-cards/available").json()]
    assert sim["id"] in [x["id"] for x in api.get(f"{BASE}/sim-cards/expired").json()]
    assert sim["id"] not in [x["id"] for x in api.get(f"{BASE}/sim-cards/expiring").json()]
    owner = str(uuid.uuid4())
    params = {"assignedToType": "CUSTOMER", "assignedToId": owner, "assignedToName": "Jan"}
    r = api.post(f"{BASE}/sim-cards/{sim['id']}/assign", params=params)
    assert r.status_code == 200 and r.json()["status"] == "ASSIGNED" and r.json()["assignedToId"] == owner
    assert_problem(api.post(f"{BASE}/sim-cards/{iccid}/assign", params=params), 409)
    assert [x["id"] for x in api.get(f"{BASE}/sim-cards/by-customer/{owner}").json()] == [sim["id"]]
    assert sim["id"] in [x["id"] for x in api.get(f"{BASE}/sim-cards").json()]
    assert_problem(api.post(f"{BASE}/sim-cards/{sim['id']}/assign",
                            params={"assignedToType": "C"}), 400, "assignedToId")
    assert_problem(api.post(f"{BASE}/sim-cards/{uuid.uuid4()}/assign", params=params), 404)
    assert_problem(api.post(f"{BASE}/sim-cards", json={"iccid": iccid}), 409)
    assert_problem(api.post(f"{BASE}/sim-cards", json={"msisdn": "1"}), 400, "iccid")
    soon = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    s2 = api.post(f"{BASE}/sim-cards", json={"iccid": iccid + "9", "expiryDate": soon}).json()
    assert s2["id"] in [x["id"] for x in api.get(f"{BASE}/sim-cards/expiring", params={"days": 5}).json()]
    assert_problem(api.get(f"{BASE}/sim-cards/expiring", params={"days": -1}), 400, "days")
