"""Order API load (/api/v1/orders): reads dominate; creates and the DRAFT → COMPLETED state machine."""

from locust import task

from bss_loadtest.client.base import BssUser

NEXT_STATUS = {"DRAFT": "PENDING", "PENDING": "APPROVED", "APPROVED": "IN_PROGRESS", "IN_PROGRESS": "COMPLETED"}


class OrderUser(BssUser):
    def on_start(self) -> None:
        self.order()

    def order(self):
        return self.pick_or_create("orders", self.create_order)

    @task(10)
    def get_order(self) -> None:
        order = self.order()
        if order is not None:
            self.api.call("orders.get", path={"id": order.id})

    @task(5)
    def list_orders(self) -> None:
        # documented filters: searchTerm > status > customerId (type is accepted and ignored)
        choice = self.rng.randrange(6)
        filters: dict = {}
        if choice == 3:
            filters = {"status": self.rng.choice(("DRAFT", "PENDING", "COMPLETED"))}
        elif choice == 4:
            customer = self.customer()
            filters = {"customerId": customer.id} if customer is not None else {}
        elif choice == 5:
            filters = {"searchTerm": self.data.tag}
        self.api.call("orders.list", params=self.page_params(**filters))

    @task(2)
    def orders_by_status(self) -> None:
        status = self.rng.choice(("DRAFT", "PENDING", "APPROVED", "IN_PROGRESS", "COMPLETED"))
        self.api.call("orders.by_status", path={"status": status}, params=self.page_params())

    @task(3)
    def orders_by_customer(self) -> None:
        self.for_customer("orders.by_customer", self.page_params())

    @task(2)
    def search_orders(self) -> None:
        self.api.call("orders.search", params=self.page_params(searchTerm=self.data.tag))

    @task(3)
    def create(self) -> None:
        customer = self.customer()
        if customer is not None:
            self.create_order(customer.id)

    @task(4)
    def advance(self) -> None:
        order = self.order()
        if order is None:
            return
        status = NEXT_STATUS.get(order.status)
        if status is None:  # completed: this order's life is over
            self.ids.remove("orders", order)
            return
        self.advance_order(order, status)

    @task(1)
    def delete_order(self) -> None:
        order = self.ids.take("orders")
        if order is not None:
            self.api.call("orders.delete", path={"id": order.id})
