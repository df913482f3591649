"""Test data: request bodies tagged with the run id, unique per run, and bounded id pools.

Every entity a run creates carries the run id: customers in ``email`` (``lt-<runid>-...``) and
``lastName``, orders ``LT-<runid>-...`` as ``orderNumber``, invoices as ``invoiceNumber``,
products as ``productCode`` and ``name``, payments in ``referenceNumber``, assets / network
elements in tag and name, SIM cards in ``apn``, activations in their notes and correlation id.
Subscriptions have no free-text field; they are tagged through their customer.

Unique values (pesel, nip, codes) combine a per-process salt and a sequence the users of one
process share (``ClientState.data_sequence``), so workers of one run do not collide.

A customer's ``pesel`` and ``nip`` (unique on the backend: a duplicate is a 400) come from ONE
sequence number, offset by the run: the nip has 4 digits of salt and 6 of ``(offset + n) mod
10**6``, so a process's first million sequence numbers (all kinds share it) give distinct values.
They used to take a sequence number each and keep only 4 of its digits in the nip: past 10,000
numbers in one process (5,000 users a worker) the nip repeated and creates failed with 400.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
from collections import deque
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from bss_loadtest.client import models as m

POOL_SIZE = 50
"""Ids each user keeps per resource for reuse."""

CUSTOMER_SPACE = 10**6
"""Distinct customer numbers per process and run: the nip's 10 digits are 4 of salt and 6 of these."""


def process_salt(environment: Any = None) -> int:
    """This load process's number (0-9,999) in the test data, different for each process of a run:
    a worker's index from its master (``--worker``; in containers every worker may have the same
    PID), else the PID."""
    if getattr(getattr(environment, "parsed_options", None), "worker", False):
        index = getattr(getattr(environment, "runner", None), "worker_index", -1)
        if isinstance(index, int) and index >= 0:
            return index % 10_000
    return os.getpid() % 10_000


def customer_marker(run_id: str, salt: int) -> str:
    """What the email of every customer a process with ``salt`` (:func:`process_salt`) creates in
    run ``run_id`` carries, and no other customer's: the cleanup's sweep (``client.cleanup``)
    searches the target for it."""
    return f"lt-{run_id}-{salt}-"


class DataFactory:
    """Builds request bodies for one run. Cheap to create; users of one process pass the same
    ``sequence`` (a fresh one when none is given)."""

    def __init__(self, run_id: str, rng: random.Random | None = None, sequence: Iterator[int] | None = None,
                 salt: int | None = None) -> None:
        self.run_id = run_id
        self.tag = f"LT-{run_id}"
        digest = int(hashlib.sha1(run_id.encode()).hexdigest(), 16)
        self._run_digits = digest % 100
        # Where this run starts in the pesel/nip space: runs that leave customers behind (a
        # failed cleanup) rarely overlap the next run's values, without spending digits on it.
        self._run_offset = digest % CUSTOMER_SPACE
        self._salt = process_salt() if salt is None else salt
        self._marker = customer_marker(run_id, self._salt)
        self.rng = rng or random.Random()
        self._sequence = sequence if sequence is not None else itertools.count(1)

    def seq(self) -> int:
        return next(self._sequence)

    def _unique_digits(self, width: int) -> str:
        """``width`` digits: run (2) + process salt (4) + sequence (rest)."""
        seq_width = width - 6
        return f"{self._run_digits:02d}{self._salt:04d}{self.seq() % 10**seq_width:0{seq_width}d}"

    # customers ---------------------------------------------------------------------------------
    def customer(self) -> m.CreateCustomer:
        n = self.seq()
        number = (self._run_offset + n) % CUSTOMER_SPACE
        return m.CreateCustomer(
            first_name=self.rng.choice(("Anna", "Jan", "Piotr", "Maria", "Katarzyna", "Tomasz")),
            last_name=f"Lt{self.run_id}",
            email=f"{self._marker}{n}@loadtest.example",
            pesel=f"{self._run_digits % 10}{self._salt:04d}{number:06d}",
            nip=f"{self._salt:04d}{number:06d}",
            phone=f"+48 600 {n % 1000:03d} {self._salt % 1000:03d}",
        )

    def customer_update(self, customer: m.Customer) -> m.UpdateCustomer:
        return m.UpdateCustomer(
            customer_id=customer.id,
            first_name=self.rng.choice(("Anna", "Jan", "Ewa", "Marek")),
            last_name=customer.last_name,
            email=customer.email,
            pesel=customer.pesel,
            nip=customer.nip,
            phone=f"+48 700 {self.seq() % 1000:03d} 000",
        )

    # orders --------------------------------------------------------------------------------------
    def order(self, customer_id: str) -> m.CreateOrder:
        return m.CreateOrder(
            order_number=f"{self.tag}-O{self._salt}-{self.seq()}",
            customer_id=customer_id,
            order_type=self.rng.choice(("NEW", "NEW_SUBSCRIPTION", "CHANGE", "UPGRADE")),
            status="DRAFT",
            priority=self.rng.choice(("LOW", "NORMAL", "NORMAL", "HIGH")),
            total_amount=round(self.rng.uniform(10, 500), 2),
            currency="PLN",
            order_channel="LOADTEST",
            notes=f"load test run {self.run_id}",
        )

    # invoices ------------------------------------------------------------------------------------
    def invoice(self, customer_id: str) -> m.CreateInvoice:
        today = date.today()
        subtotal = round(self.rng.uniform(20, 400), 2)
        tax = round(subtotal * 0.23, 2)
        return m.CreateInvoice(
            invoice_number=f"INV-{self.tag}-{self._salt}-{self.seq()}",
            customer_id=customer_id,
            invoice_type=self.rng.choice(("RECURRING", "ONE_TIME", "USAGE")),
            issue_date=today.isoformat(),
            due_date=(today + timedelta(days=14)).isoformat(),
            subtotal=subtotal,
            tax_amount=tax,
            total_amount=round(subtotal + tax, 2),
            currency="PLN",
            payment_terms=14,
            notes=f"load test run {self.run_id}",
        )

    def invoice_update(self, invoice: m.Invoice) -> m.UpdateInvoice:
        subtotal = round(self.rng.uniform(20, 400), 2)
        tax = round(subtotal * 0.23, 2)
        return m.UpdateInvoice(
            id=invoice.id,
            version=invoice.version,
            invoice_number=invoice.invoice_number,
            customer_id=invoice.customer_id,
            invoice_type=invoice.invoice_type,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            subtotal=subtotal,
            tax_amount=tax,
            total_amount=round(subtotal + tax, 2),
            currency="PLN",
            notes=f"load test run {self.run_id} (updated)",
        )

    # payments ------------------------------------------------------------------------------------
    def payment(self, customer_id: str, invoice_id: str | None = None, amount: float | None = None) -> m.CreatePayment:
        return m.CreatePayment(
            customer_id=customer_id,
            invoice_id=invoice_id,
            amount=amount if amount is not None else round(self.rng.uniform(10, 300), 2),
            currency="PLN",
            payment_method=self.rng.choice(("CARD", "BANK_TRANSFER", "DIRECT_DEBIT", "MOBILE_PAY")),
            payment_date=date.today().isoformat(),
            reference_number=f"{self.tag}-PAY-{self._salt}-{self.seq()}",
            notes=f"load test run {self.run_id}",
        )

    # products ------------------------------------------------------------------------------------
    def product(self) -> m.CreateProduct:
        n = self.seq()
        return m.CreateProduct(
            product_code=f"{self.tag}-P{self._salt}-{n}",
            name=f"Load test plan {self.run_id} {n}",
            description=f"load test run {self.run_id}",
            product_type=self.rng.choice(("SERVICE", "TARIFF", "BUNDLE", "ADDON")),
            category=self.rng.choice(("MOBILE", "BROADBAND", "TV", "CLOUD", "BASIC")),
            price=round(self.rng.uniform(5, 150), 2),
            currency="PLN",
            billing_period="MONTHLY",
            status="ACTIVE",
        )

    def product_update(self, product: m.Product) -> m.UpdateProduct:
        return m.UpdateProduct(
            id=product.id,
            version=product.version,
            product_code=product.product_code,
            name=product.name,
            description=f"load test run {self.run_id} (updated)",
            product_type=product.product_type,
            category=product.category,
            price=round(self.rng.uniform(5, 150), 2),
            currency="PLN",
            billing_period=product.billing_period or "MONTHLY",
            status=product.status,
        )

    # subscriptions -------------------------------------------------------------------------------
    def subscription(self, customer_id: str, product_id: str, order_id: str | None = None) -> m.CreateSubscription:
        today = date.today()
        return m.CreateSubscription(
            customer_id=customer_id,
            product_id=product_id,
            order_id=order_id,
            start_date=today.isoformat(),
            billing_start=today.isoformat(),
            next_billing_date=(today + timedelta(days=30)).isoformat(),
            billing_period="MONTHLY",
            price=round(self.rng.uniform(10, 120), 2),
            currency="PLN",
            auto_renew=self.rng.random() < 0.5,
        )

    # services ------------------------------------------------------------------------------------
    def activation(self, customer_id: str, service_code: str) -> m.ActivateService:
        return m.ActivateService(
            customer_id=customer_id,
            service_code=service_code,
            correlation_id=f"{self.tag}-ACT-{self._salt}-{self.seq()}",
            activation_notes=f"load test run {self.run_id}",
        )

    # assets --------------------------------------------------------------------------------------
    def asset(self) -> m.CreateAsset:
        n = self.seq()
        return m.CreateAsset(
            asset_tag=f"{self.tag}-A{self._salt}-{n}",
            asset_type=self.rng.choice(("ROUTER", "MODEM", "SET_TOP_BOX", "ACCESS_POINT")),
            name=f"Load test device {self.run_id} {n}",
            serial_number=f"SN{self._salt}{n}",
            manufacturer="LoadTest",
            warranty_expiry=(date.today() + timedelta(days=self.rng.choice((10, 20, 400)))).isoformat(),
            notes=f"load test run {self.run_id}",
        )

    def assignment(self, customer_id: str) -> m.AssignAsset:
        return m.AssignAsset(assigned_to_type="CUSTOMER", assigned_to_id=customer_id, assigned_to_name=self.tag)

    def network_element(self) -> m.CreateNetworkElement:
        n = self.seq()
        return m.CreateNetworkElement(
            element_id=f"{self.tag}-NE{self._salt}-{n}",
            element_type=self.rng.choice(("ROUTER", "SWITCH", "OLT")),
            name=f"Load test element {self.run_id} {n}",
            ip_address=f"10.{self._salt % 250}.{n // 250 % 250}.{n % 250 + 1}",
        )

    def sim_card(self) -> m.CreateSimCard:
        digits = self._unique_digits(17)
        return m.CreateSimCard(
            iccid=f"89{digits}",
            msisdn=f"48{digits[-9:]}",
            network_operator="LoadTest",
            apn=f"lt-{self.run_id}.apn",
            status="AVAILABLE",
        )


class IdPool:
    """Recently created entities of one user, per resource, bounded (oldest dropped first)."""

    def __init__(self, maxlen: int = POOL_SIZE, rng: random.Random | None = None) -> None:
        self._maxlen = maxlen
        self._pools: dict[str, deque] = {}
        self._rng = rng or random.Random()

    def add(self, resource: str, item: Any) -> None:
        pool = self._pools.get(resource)
        if pool is None:
            pool = self._pools[resource] = deque(maxlen=self._maxlen)
        pool.append(item)

    def pick(self, resource: str) -> Any | None:
        pool = self._pools.get(resource)
        if not pool:
            return None
        return pool[self._rng.randrange(len(pool))]

    def take(self, resource: str) -> Any | None:
        """Remove and return the oldest item (for deletes)."""
        pool = self._pools.get(resource)
        return pool.popleft() if pool else None

    def replace(self, resource: str, old: Any, new: Any) -> None:
        pool = self._pools.get(resource)
        if pool is None:
            return
        try:
            pool[pool.index(old)] = new
        except ValueError:
            pool.append(new)

    def remove(self, resource: str, item: Any) -> None:
        pool = self._pools.get(resource)
        if pool is not None:
            try:
                pool.remove(item)
            except ValueError:
                pass

    def __len__(self) -> int:
        return sum(len(pool) for pool in self._pools.values())
