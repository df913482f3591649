"""Invoice API load (/api/v1/invoices): reads and filters dominate; DRAFT → ISSUED → SENT → PAID."""

from datetime import date, timedelta

from locust import task

from bss_loadtest.client.base import BssUser

NEXT_STATUS = {"DRAFT": "ISSUED", "ISSUED": "SENT", "SENT": "PAID"}


class InvoiceUser(BssUser):
    def on_start(self) -> None:
        self.invoice()

    def invoice(self):
        return self.pick_or_create("invoices", self.create_invoice)

    def _dates(self) -> dict:
        today = date.today()
        return {"startDate": (today - timedelta(days=30)).isoformat(), "endDate": (today + timedelta(days=30)).isoformat()}

    @task(10)
    def get_invoice(self) -> None:
        invoice = self.invoice()
        if invoice is not None:
            self.api.call("invoices.get", path={"id": invoice.id})

    @task(5)
    def list_invoices(self) -> None:
        # documented filters (one applies): query, status, type, customerId, unpaid, overdue, startDate+endDate
        customer = self.ids.pick("customers")
        filters = self.rng.choice((
            {}, {}, {}, {"status": "ISSUED"}, {"type": "RECURRING"}, {"query": self.data.tag},
            {"unpaid": "true"}, {"overdue": "true"}, self._dates(),
            {"customerId": customer.id} if customer is not None else {},
        ))
        self.api.call("invoices.list", params=self.page_params(**filters))

    @task(2)
    def invoices_by_status(self) -> None:
        status = self.rng.choice(("DRAFT", "ISSUED", "SENT", "PAID"))
        self.api.call("invoices.by_status", path={"status": status}, params=self.page_params())

    @task(1)
    def invoices_by_type(self) -> None:
        kind = self.rng.choice(("RECURRING", "ONE_TIME", "USAGE"))
        self.api.call("invoices.by_type", path={"type": kind}, params=self.page_params())

    @task(2)
    def invoices_by_customer(self) -> None:
        self.for_customer("invoices.by_customer", self.page_params())

    @task(2)
    def invoice_by_number(self) -> None:
        invoice = self.invoice()
        if invoice is not None:
            self.api.call("invoices.by_number", path={"invoiceNumber": invoice.invoice_number})

    @task(1)
    def issued_between(self) -> None:
        self.api.call("invoices.issued_between", params=self.page_params(**self._dates()))

    @task(1)
    def due_between(self) -> None:
        self.api.call("invoices.due_between", params=self.page_params(**self._dates()))

    @task(2)
    def unpaid(self) -> None:
        self.api.call("invoices.unpaid", params=self.page_params())

    @task(1)
    def overdue(self) -> None:
        self.api.call("invoices.overdue", params=self.page_params())

    @task(2)
    def search_invoices(self) -> None:
        self.api.call("invoices.search", params=self.page_params(query=self.data.tag))

    @task(3)
    def create(self) -> None:
        customer = self.customer()
        if customer is not None:
            self.create_invoice(customer.id)

    @task(1)
    def update_invoice(self) -> None:
        invoice = self.invoice()
        if invoice is None or invoice.status != "DRAFT":
            return
        updated = self.api.call("invoices.update", path={"id": invoice.id}, body=self.data.invoice_update(invoice))
        if updated is not None:
            self.ids.replace("invoices", invoice, updated)

    @task(3)
    def advance(self) -> None:
        invoice = self.invoice()
        if invoice is None:
            return
        status = NEXT_STATUS.get(invoice.status)
        if status is None:
            self.ids.remove("invoices", invoice)
            return
        self.advance_invoice(invoice, status)
