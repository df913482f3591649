"""Business journeys across the APIs.

* ``OrderJourneyUser``: a new customer orders a product; the order goes DRAFT → COMPLETED, a
  subscription starts, an invoice is issued, sent, paid by a payment.
* ``CustomerCareUser``: a customer-care agent looks a customer up and reads their orders,
  invoices, payments and subscriptions; now and then suspends and reactivates a customer.
"""

from locust import task

from bss_loadtest.client import models as m
from bss_loadtest.client.base import BssUser

ORDER_STEPS = ("PENDING", "APPROVED", "IN_PROGRESS", "COMPLETED")
INVOICE_STEPS = ("ISSUED", "SENT")


class OrderJourneyUser(BssUser):
    journey = True  # one pass of order_to_payment is one iteration, k6 group ::order_to_payment

    @task
    def order_to_payment(self) -> None:
        with self.group("order"):
            customer = self.create_customer()
            product = self.catalogue_product()
            if customer is None or product is None:
                return
            order = self.create_order(customer.id)
            for status in ORDER_STEPS:
                if order is None:
                    return
                order = self.advance_order(order, status)
            if order is None:
                return
            self.api.call("orders.get", path={"id": order.id})
            self.create_subscription(customer.id, product.id, order.id)
        with self.group("billing"):
            invoice = self.create_invoice(customer.id)
            for status in INVOICE_STEPS:
                if invoice is None:
                    return
                invoice = self.advance_invoice(invoice, status)
            if invoice is None:
                return
        with self.group("payment"):
            payment = self.create_payment(customer.id, invoice.id, invoice.total_amount)
            if payment is None:
                return
            for status in ("PROCESSING", "COMPLETED"):
                payment = self.api.call("payments.change_status", path={"id": payment.id},
                                        body=m.ChangePaymentStatus(id=payment.id, status=status))
                if payment is None:
                    return
            self.advance_invoice(invoice, "PAID")
        # the journey's data is done with; keep the pools small
        self.ids.remove("orders", order)


NEXT_CUSTOMER_STATUS = {"ACTIVE": "SUSPENDED", "SUSPENDED": "ACTIVE"}


class CustomerCareUser(BssUser):
    journey = True  # each look-up is one pass: a k6 group named after its task
    def on_start(self) -> None:
        # The agent's own book of customers, so status changes never collide with other users.
        for _ in range(2):
            customer = self.create_customer()
            if customer is not None:
                self.create_order(customer.id)
                self.create_invoice(customer.id)

    @task(6)
    def look_up_customer(self) -> None:
        self.api.call("customers.search", params={"searchTerm": f"Lt{self.data.run_id}", "page": 0, "size": 10})
        customer = self.customer()
        if customer is None:
            return
        self.api.call("customers.get", path={"id": customer.id})
        for key in ("orders.by_customer", "invoices.by_customer", "payments.by_customer", "subscriptions.by_customer"):
            self.api.call(key, path={"customerId": customer.id}, params={"page": 0, "size": 10})

    @task(3)
    def check_order(self) -> None:
        order = self.ids.pick("orders")
        if order is not None:
            self.api.call("orders.get", path={"id": order.id})

    @task(3)
    def check_invoice(self) -> None:
        invoice = self.ids.pick("invoices")
        if invoice is not None:
            self.api.call("invoices.get", path={"id": invoice.id})

    @task(2)
    def unpaid_invoices(self) -> None:
        self.api.call("invoices.unpaid", params={"page": 0, "size": 20})

    @task(1)
    def change_customer_status(self) -> None:
        customer = self.customer()
        if customer is None or customer.status not in NEXT_CUSTOMER_STATUS:
            return
        changed = self.api.call(
            "customers.change_status", path={"id": customer.id},
            body=m.ChangeCustomerStatus(customer_id=customer.id, status=NEXT_CUSTOMER_STATUS[customer.status]),
        )
        if changed is not None:
            self.ids.replace("customers", customer, changed)
