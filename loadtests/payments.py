"""Payment API load (/api/v1/payments): reads dominate; creates, PENDING → PROCESSING → COMPLETED, deletes."""

from locust import task

from bss_loadtest.client import models as m
from bss_loadtest.client.base import BssUser

NEXT_STATUS = {"PENDING": "PROCESSING", "PROCESSING": "COMPLETED"}


class PaymentUser(BssUser):
    def on_start(self) -> None:
        self.payment()

    def payment(self):
        return self.pick_or_create("payments", self.create_payment)

    @task(8)
    def get_payment(self) -> None:
        payment = self.payment()
        if payment is not None:
            self.api.call("payments.get", path={"id": payment.id})

    @task(5)
    def list_payments(self) -> None:
        # documented filters: searchTerm > status > customerId
        customer = self.ids.pick("customers")
        filters = self.rng.choice((
            {}, {}, {}, {"status": "PENDING"}, {"searchTerm": "PAY-"},
            {"customerId": customer.id} if customer is not None else {},
        ))
        self.api.call("payments.list", params=self.page_params(**filters))

    @task(3)
    def payments_by_customer(self) -> None:
        self.for_customer("payments.by_customer", self.page_params())

    @task(2)
    def payments_by_status(self) -> None:
        status = self.rng.choice(("PENDING", "PROCESSING", "COMPLETED"))
        self.api.call("payments.by_status", path={"status": status}, params=self.page_params())

    @task(2)
    def search_payments(self) -> None:
        payment = self.payment()
        if payment is not None:
            self.api.call("payments.search", params=self.page_params(searchTerm=payment.payment_number))

    @task(3)
    def create(self) -> None:
        customer = self.customer()
        if customer is not None:
            self.create_payment(customer.id)

    @task(2)
    def advance(self) -> None:
        payment = self.payment()
        if payment is None:
            return
        status = NEXT_STATUS.get(payment.payment_status)
        if status is None:
            self.ids.remove("payments", payment)
            return
        changed = self.api.call(
            "payments.change_status", path={"id": payment.id},
            body=m.ChangePaymentStatus(id=payment.id, status=status, reason="load test"),
        )
        if changed is not None:
            self.ids.replace("payments", payment, changed)

    @task(1)
    def delete_payment(self) -> None:
        payment = self.ids.take("payments")
        if payment is not None:
            self.api.call("payments.delete", path={"id": payment.id})
