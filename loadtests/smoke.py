"""Smoke: one user calls every endpoint of every API once, validates each answer, then ends the run.

Endpoints the target config skips are not called. After the pass, an endpoint of the table that
was not exercised (its prerequisite failed) is reported as a failed request of its own, so a
smoke run is green only if every endpoint answered as the contract says.
"""

from datetime import date, timedelta

import gevent
from locust import stats, task
from locust.exception import StopUser

from bss_loadtest.client import models as m
from bss_loadtest.client.base import BssUser
from bss_loadtest.core.failures import RequestFailure
from bss_loadtest.run import runtime


class NotExercised(RequestFailure):
    failure_class = "other"


class SmokeUser(BssUser):
    single_pass = True  # ends the run after one pass: only runs when asked for (smoke profile, by name)

    def wait_time(self) -> float:
        return 0.0

    @task
    def smoke_pass(self) -> None:
        try:
            self.run_pass()
            self.report_missing()
            if getattr(self.environment.parsed_options, "csv_prefix", None):
                # Locust's CSV writer writes once per interval and not at shutdown: let it see the pass.
                gevent.sleep(stats.CSV_STATS_INTERVAL_SEC + 0.3)
        finally:
            runtime.request_stop(self.environment, "smoke pass complete")
        raise StopUser()

    def run_pass(self) -> None:
        call = self.api.call
        call("actuator.health")
        today = date.today()
        window = {"startDate": (today - timedelta(days=7)).isoformat(),
                  "endDate": (today + timedelta(days=30)).isoformat(), "page": 0, "size": 5}
        page = {"page": 0, "size": 5}

        # customers
        customer = self.create_customer()
        if customer is not None:
            call("customers.get", path={"id": customer.id})
            updated = call("customers.update", path={"id": customer.id}, body=self.data.customer_update(customer))
            customer = updated or customer
        call("customers.list", params={**page, "status": "ACTIVE"})
        call("customers.by_status", path={"status": "ACTIVE"}, params=page)
        call("customers.search", params={**page, "searchTerm": f"Lt{self.data.run_id}"})

        # products
        product = self.create_product()
        if product is not None:
            call("products.get", path={"id": product.id})
            product = call("products.update", path={"id": product.id}, body=self.data.product_update(product)) or product
            product = call("products.change_status", path={"id": product.id},
                           body=m.ChangeProductStatus(id=product.id, status="ACTIVE", version=product.version)) or product
        call("products.list", params=page)
        call("products.by_status", path={"status": "ACTIVE"}, params=page)
        call("products.active", params=page)
        call("products.search", params={**page, "searchTerm": "Plan"})

        order = subscription = invoice = payment = None
        if customer is not None:
            # orders
            order = self.create_order(customer.id)
            if order is not None:
                call("orders.get", path={"id": order.id})
                order = self.advance_order(order, "PENDING") or order
            call("orders.by_customer", path={"customerId": customer.id}, params=page)
            doomed = self.create_order(customer.id)
            if doomed is not None:
                call("orders.delete", path={"id": doomed.id})
            # subscriptions
            if product is not None:
                subscription = self.create_subscription(customer.id, product.id, order.id if order else None)
            if subscription is not None:
                call("subscriptions.get", path={"id": subscription.id})
                call("subscriptions.search", params={**page, "searchTerm": subscription.subscription_number})
                call("subscriptions.update", path={"id": subscription.id},
                     body=m.UpdateSubscription(id=subscription.id, price=19.99))
                call("subscriptions.change_status", path={"id": subscription.id},
                     body=m.ChangeSubscriptionStatus(id=subscription.id, status="SUSPENDED", reason="smoke"))
                call("subscriptions.renew", path={"id": subscription.id})
            call("subscriptions.by_customer", path={"customerId": customer.id}, params=page)
            # invoices
            invoice = self.create_invoice(customer.id)
            if invoice is not None:
                call("invoices.get", path={"id": invoice.id})
                call("invoices.by_number", path={"invoiceNumber": invoice.invoice_number})
                invoice = call("invoices.update", path={"id": invoice.id},
                               body=self.data.invoice_update(invoice)) or invoice
                invoice = self.advance_invoice(invoice, "ISSUED") or invoice
            call("invoices.by_customer", path={"customerId": customer.id}, params=page)
            # payments
            payment = self.create_payment(customer.id, invoice.id if invoice else None)
            if payment is not None:
                call("payments.get", path={"id": payment.id})
                call("payments.search", params={**page, "searchTerm": payment.payment_number})
                call("payments.change_status", path={"id": payment.id},
                     body=m.ChangePaymentStatus(id=payment.id, status="PROCESSING"))
            call("payments.by_customer", path={"customerId": customer.id}, params=page)
        call("orders.list", params=page)
        call("orders.by_status", path={"status": "PENDING"}, params=page)
        call("orders.search", params={**page, "searchTerm": self.data.tag})
        call("subscriptions.list", params=page)
        call("subscriptions.by_status", path={"status": "SUSPENDED"}, params=page)
        call("invoices.list", params=page)
        call("invoices.by_status", path={"status": "ISSUED"}, params=page)
        call("invoices.by_type", path={"type": "ONE_TIME"}, params=page)
        call("invoices.issued_between", params=window)
        call("invoices.due_between", params=window)
        call("invoices.unpaid", params=page)
        call("invoices.overdue", params=page)
        call("invoices.search", params={**page, "query": self.data.tag})
        call("payments.list", params=page)
        call("payments.by_status", path={"status": "PROCESSING"}, params=page)

        # services
        services = call("services.list") or []
        call("services.by_category", path={"category": "BROADBAND"})
        call("services.by_type", path={"type": "INTERNET"})
        candidates = [s for s in services if s.status == "ACTIVE" and not s.depends_on_service_codes]
        auto = [s for s in candidates if s.auto_provision] or candidates
        if customer is not None and auto:
            code = auto[0].service_code
            call("services.check_eligibility", params={"customerId": customer.id, "serviceCode": code})
            activation = call("services.activate", body=self.data.activation(customer.id, code))
            call("services.activations", params={"customerId": customer.id})
            if activation is not None:
                call("services.activation_get", path={"activationId": activation.id})
                call("services.deactivate", path={"activationId": activation.id},
                     body=m.DeactivateService(activation_id=activation.id, deactivation_notes="smoke"))

        # assets, network elements, SIM cards
        asset = call("assets.create", body=self.data.asset())
        if asset is not None and customer is not None:
            call("assets.assign", path={"assetId": asset.id}, body=self.data.assignment(customer.id))
            call("assets.by_customer", path={"customerId": customer.id})
            call("assets.release", path={"assetId": asset.id})
        call("assets.list")
        call("assets.available")
        call("assets.warranty_expiring", params={"days": 30})
        element = call("assets.element_create", body=self.data.network_element())
        if element is not None:
            call("assets.element_heartbeat", path={"elementId": element.element_id})
        call("assets.elements")
        call("assets.elements_online")
        call("assets.elements_maintenance")
        sim = call("assets.sim_create", body=self.data.sim_card())
        if sim is not None and customer is not None:
            call("assets.sim_assign", path={"simId": sim.id},
                 params={"assignedToType": "CUSTOMER", "assignedToId": customer.id, "assignedToName": self.data.tag})
            call("assets.sims_by_customer", path={"customerId": customer.id})
        call("assets.sims")
        call("assets.sims_available")
        call("assets.sims_expired")
        call("assets.sims_expiring", params={"days": 30})

        # deletes last: what the pass created goes away with it
        if payment is not None:
            call("payments.delete", path={"id": payment.id})
        if subscription is not None:
            call("subscriptions.delete", path={"id": subscription.id})
        if product is not None:
            call("products.delete", path={"id": product.id}, params={"version": product.version})
        if customer is not None:
            changed = call("customers.change_status", path={"id": customer.id},
                           body=m.ChangeCustomerStatus(customer_id=customer.id, status="INACTIVE"))
            if changed is not None:
                call("customers.delete", path={"id": customer.id})

    def report_missing(self) -> None:
        """Report every endpoint of the table the pass could not reach as a failure of its own."""
        seen = {(entry.method, entry.name) for entry in self.environment.stats.entries.values()}
        for route in self.api.routes.values():
            if route.skipped or (route.method, route.name) in seen:
                continue
            self.environment.events.request.fire(
                request_type=route.method, name=route.name, response_time=0.0, response_length=0,
                response=None, context=self.context(),
                exception=NotExercised("not exercised: a prerequisite call failed"),
            )
