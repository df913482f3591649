"""Test data carries the run id and unique values; id pools are bounded."""

import os
import random

from bss_loadtest.client.data import DataFactory, IdPool


def test_every_created_entity_carries_the_run_id():
    data = DataFactory("abc123def456", random.Random(1))
    customer = data.customer()
    assert "abc123def456" in customer.email and "abc123def456" in customer.last_name
    assert data.order("c").order_number.startswith("LT-abc123def456-")
    assert "abc123def456" in data.invoice("c").invoice_number
    assert "abc123def456" in data.payment("c").reference_number
    product = data.product()
    assert "abc123def456" in product.product_code and "abc123def456" in product.name
    assert "abc123def456" in data.asset().asset_tag
    assert "abc123def456" in data.network_element().element_id
    assert "abc123def456" in data.sim_card().apn
    assert "abc123def456" in data.activation("c", "S").correlation_id


def test_unique_values_per_run():
    data = DataFactory("run-1")
    customers = [data.customer() for _ in range(500)]
    assert len({c.pesel for c in customers}) == 500
    assert len({c.nip for c in customers}) == 500
    assert all(len(c.pesel) == 11 and c.pesel.isdigit() for c in customers)
    assert all(len(c.nip) == 10 and c.nip.isdigit() for c in customers)
    assert len({data.order("c").order_number for _ in range(500)}) == 500
    assert len({data.sim_card().iccid for _ in range(100)}) == 100


def test_contract_limits_respected():
    data = DataFactory("0123456789ab")
    customer = data.customer()
    assert 2 <= len(customer.first_name) <= 50 and 2 <= len(customer.last_name) <= 50
    assert 3 <= len(data.order("c").order_number) <= 50
    assert 3 <= len(data.product().product_code) <= 50


def test_pool_is_bounded():
    pool = IdPool(maxlen=5)
    for i in range(20):
        pool.add("customers", i)
    assert len(pool) == 5
    assert pool.take("customers") == 15
    assert pool.pick("customers") in {16, 17, 18, 19}
    pool.replace("customers", 16, "x")
    pool.remove("customers", 17)
    assert pool.take("customers") == "x"
    assert pool.pick("orders") is None


def test_customers_stay_unique_at_ten_thousand_users(monkeypatch):
    """5,000 users a worker push a process's sequence past 10,000 within a minute (customers,
    orders and the rest share it). The reference server answers a repeated pesel or nip with 400:
    two processes' 10,000 customers each, interleaved with other creates, must all be distinct
    and pass the server's own validation."""
    import itertools

    from bss_loadtest.client import data as data_module
    from bss_reference.models import CreateCustomer as ServerCreateCustomer

    customers = []
    for pid in (41_000, 41_001):  # two workers of one run, one sequence each
        monkeypatch.setattr(data_module.os, "getpid", lambda pid=pid: pid)
        factory = DataFactory("run-10k", random.Random(pid), sequence=itertools.count(1))
        rng = random.Random(pid)
        for _ in range(10_000):
            customers.append(factory.customer())
            for _ in range(rng.randrange(4)):
                factory.order("c")
    assert len({c.pesel for c in customers}) == len(customers) == 20_000
    assert len({c.nip for c in customers}) == 20_000
    assert len({c.email for c in customers}) == 20_000
    for customer in customers[::97]:
        ServerCreateCustomer.model_validate(customer.model_dump(by_alias=True, exclude_none=True))


def test_workers_of_one_run_number_their_data_by_their_index_not_their_pid():
    """In containers every worker may run as the same PID (1): a worker's test data is numbered by
    the index its master gave it, a local process's by its PID; the sweep's marker follows it."""
    from types import SimpleNamespace

    from bss_loadtest.client.data import customer_marker, process_salt

    def worker(index):
        return SimpleNamespace(parsed_options=SimpleNamespace(worker=True), runner=SimpleNamespace(worker_index=index))

    assert [process_salt(worker(i)) for i in (0, 1, 7)] == [0, 1, 7]
    assert process_salt(worker(-1)) == process_salt() == os.getpid() % 10_000  # no index yet: the PID
    local = SimpleNamespace(parsed_options=SimpleNamespace(worker=False), runner=SimpleNamespace(worker_index=0))
    assert process_salt(local) == os.getpid() % 10_000
    first, second = (DataFactory("run-k8s", salt=process_salt(worker(i)), sequence=iter(range(1, 100)))
                     for i in (0, 1))
    a, b = first.customer(), second.customer()  # the same PID and the same sequence number
    assert a.pesel != b.pesel and a.nip != b.nip
    assert a.email.startswith(customer_marker("run-k8s", 0)) and b.email.startswith(customer_marker("run-k8s", 1))
