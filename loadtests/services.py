"""Service API load (/api/services): catalogue reads, eligibility checks, activations and deactivations."""

from locust import task

from bss_loadtest.client import models as m
from bss_loadtest.client.base import BssUser


class ServiceUser(BssUser):
    def on_start(self) -> None:
        self.catalogue: list[m.ServiceEntity] = []
        self.activated: set[tuple[str, str]] = set()
        services = self.api.call("services.list")
        if services:
            self.catalogue = list(services)

    def activatable(self) -> list[m.ServiceEntity]:
        """Services a customer can take without first taking another one."""
        return [s for s in self.catalogue if s.status == "ACTIVE" and not s.depends_on_service_codes]

    @task(8)
    def list_services(self) -> None:
        services = self.api.call("services.list")
        if services:
            self.catalogue = list(services)

    @task(3)
    def services_by_category(self) -> None:
        category = self.rng.choice([s.category for s in self.catalogue if s.category] or ["BROADBAND"])
        self.api.call("services.by_category", path={"category": category})

    @task(3)
    def services_by_type(self) -> None:
        self.api.call("services.by_type", path={"type": self.rng.choice(("INTERNET", "TELEPHONY", "MOBILE", "CLOUD"))})

    @task(3)
    def check_eligibility(self) -> None:
        customer = self.customer()
        services = self.activatable()
        if customer is not None and services:
            self.api.call("services.check_eligibility",
                          params={"customerId": customer.id, "serviceCode": self.rng.choice(services).service_code})

    @task(2)
    def activate(self) -> None:
        candidates = self.activatable()
        if not candidates:
            return
        customer = self.customer()
        if customer is None:
            return
        free = [s for s in candidates if (customer.id, s.service_code) not in self.activated]
        if not free:  # this customer has everything: serve a new one
            customer = self.create_customer()
            if customer is None:
                return
            free = candidates
        service = self.rng.choice(free)
        self.activated.add((customer.id, service.service_code))
        self.create_and_keep("services.activate", self.data.activation(customer.id, service.service_code))

    @task(3)
    def list_activations(self) -> None:
        customer = self.customer()
        if customer is not None:
            self.api.call("services.activations", params={"customerId": customer.id})

    @task(3)
    def get_activation(self) -> None:
        activation = self.ids.pick("activations")
        if activation is not None:
            self.api.call("services.activation_get", path={"activationId": activation.id})

    @task(1)
    def deactivate(self) -> None:
        activation = self.ids.pick("activations")
        if activation is None or activation.status != "ACTIVE":
            return
        done = self.api.call("services.deactivate", path={"activationId": activation.id},
                             body=m.DeactivateService(activation_id=activation.id, deactivation_notes="load test"))
        if done is not None:
            self.ids.replace("activations", activation, done)
