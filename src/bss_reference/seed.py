"""The catalogue a fresh database starts with: active products and a service catalogue.

Seeding happens only when the tables are empty, so a file database keeps what it has.
"""

from __future__ import annotations

from bss_reference.api.products import derive as derive_product
from bss_reference.clock import Clock
from bss_reference.common import new_id
from bss_reference.db import Database

SEED_PRODUCTS = [
    # productCode, name, productType, category, price, billingPeriod
    ("MOB-BASIC", "Mobile Basic", "TARIFF", "MOBILE", 29.99, "MONTHLY"),
    ("MOB-UNLIMITED", "Mobile Unlimited", "TARIFF", "MOBILE", 79.99, "MONTHLY"),
    ("FIBER-300", "Fiber 300 Mb/s", "SERVICE", "BROADBAND", 59.0, "MONTHLY"),
    ("FIBER-1000", "Fiber 1 Gb/s", "SERVICE", "BROADBAND", 99.0, "MONTHLY"),
    ("TV-FAMILY", "TV Family Package", "BUNDLE", "TV", 49.0, "MONTHLY"),
    ("CLOUD-100", "Cloud Storage 100 GB", "ADDON", "CLOUD", 9.99, "MONTHLY"),
    ("BASIC-YEAR", "Basic Yearly Plan", "TARIFF", "BASIC", 299.0, "YEARLY"),
]

SEED_SERVICES = [
    # serviceCode, name, serviceType, category, status, depends on, autoProvision
    ("INTERNET-FIBER", "Fiber Internet", "INTERNET", "BROADBAND", "ACTIVE", [], True),
    ("VOIP-LINE", "VoIP Telephone Line", "TELEPHONY", "VOICE", "ACTIVE", [], True),
    ("IPTV-BASIC", "IPTV Basic", "TELEVISION", "TV", "ACTIVE", ["INTERNET-FIBER"], True),
    ("MOBILE-DATA", "Mobile Data 20 GB", "MOBILE", "MOBILE", "ACTIVE", [], True),
    ("CLOUD-BACKUP", "Cloud Backup", "CLOUD", "CLOUD", "ACTIVE", [], True),
    ("SUPPORT-PREMIUM", "Premium Support", "SUPPORT", "SUPPORT", "ACTIVE", [], False),
    ("STATIC-IP", "Static IP Address", "ADDON", "BROADBAND", "ACTIVE", ["INTERNET-FIBER"], True),
    ("LEGACY-DSL", "Legacy DSL", "INTERNET", "BROADBAND", "INACTIVE", [], True),
]


def seed(db: Database, clock: Clock) -> None:
    # Soft-deleted products count: a catalogue emptied by DELETEs is not seeded again.
    if db.conn.execute("SELECT count(*) FROM products").fetchone()[0] == 0:
        for code, name, ptype, cat, price, period in SEED_PRODUCTS:
            ts = clock.timestamp()
            db.insert("products", derive_product({
                "id": new_id(), "productCode": code, "name": name,
                "description": f"{name} (seeded)", "productType": ptype, "category": cat,
                "price": price, "currency": "PLN", "billingPeriod": period, "status": "ACTIVE",
                "validityStart": None, "validityEnd": None, "createdAt": ts, "updatedAt": ts,
                "createdBy": "SYSTEM", "updatedBy": "SYSTEM", "version": 0}, clock.today()))
    if db.count("services") == 0:
        for code, name, stype, cat, status, deps, auto in SEED_SERVICES:
            ts = clock.timestamp()
            db.insert("services", {
                "id": new_id(), "createdAt": ts, "updatedAt": ts, "createdBy": "SYSTEM",
                "updatedBy": "SYSTEM", "version": 0, "deletedAt": None, "serviceCode": code,
                "name": name, "description": f"{name} (seeded)", "serviceType": stype,
                "category": cat, "status": status, "provisioningTimeMinutes": 15,
                "deprovisioningTimeMinutes": 10, "dependsOnServiceCodes": deps,
                "requiresEquipment": stype in ("INTERNET", "TELEVISION"), "autoProvision": auto,
                "provisioningScript": None, "serviceName": name, "active": status == "ACTIVE"})
