"""Customer API load (/api/v1/customers): reads dominate; creates, updates, status changes, deletes."""

from locust import task

from bss_loadtest.client import models as m
from bss_loadtest.client.base import BssUser

# A customer-care toggle that never reaches the final TERMINATED status.
NEXT_STATUS = {"ACTIVE": "SUSPENDED", "SUSPENDED": "ACTIVE", "INACTIVE": "ACTIVE"}


class CustomerUser(BssUser):
    def on_start(self) -> None:
        self.create_customer()

    @task(10)
    def get_customer(self) -> None:
        customer = self.customer()
        if customer is not None:
            self.api.call("customers.get", path={"id": customer.id})

    @task(6)
    def list_customers(self) -> None:
        # documented filters: status (case-insensitive) or search (wins over status); mostly none
        filters = self.rng.choice(({}, {}, {}, {"status": "ACTIVE"}, {"status": "suspended"},
                                   {"search": f"Lt{self.data.run_id}"}))
        self.api.call("customers.list", params=self.page_params(**filters))

    @task(4)
    def search_customers(self) -> None:
        self.api.call("customers.search", params=self.page_params(searchTerm=f"Lt{self.data.run_id}"))

    @task(2)
    def customers_by_status(self) -> None:
        status = self.rng.choice(("ACTIVE", "SUSPENDED", "INACTIVE"))
        self.api.call("customers.by_status", path={"status": status}, params=self.page_params())

    @task(3)
    def create(self) -> None:
        self.create_customer()

    @task(2)
    def update_customer(self) -> None:
        customer = self.customer()
        if customer is None:
            return
        updated = self.api.call("customers.update", path={"id": customer.id}, body=self.data.customer_update(customer))
        if updated is not None:
            self.ids.replace("customers", customer, updated)

    @task(1)
    def change_status(self) -> None:
        customer = self.customer()
        if customer is None:
            return
        status = NEXT_STATUS.get(customer.status)
        if status is None:
            return
        changed = self.api.call(
            "customers.change_status", path={"id": customer.id},
            body=m.ChangeCustomerStatus(customer_id=customer.id, status=status),
        )
        if changed is not None:
            self.ids.replace("customers", customer, changed)

    @task(1)
    def delete_customer(self) -> None:
        customer = self.ids.take("customers")
        if customer is not None:
            self.api.call("customers.delete", path={"id": customer.id})
