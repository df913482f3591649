"""Subscription API load (/api/subscriptions): reads dominate; creates, updates, status changes, renewals, deletes."""

from locust import task

from bss_loadtest.client import models as m
from bss_loadtest.client.base import BssUser

NEXT_STATUS = {"ACTIVE": "SUSPENDED", "SUSPENDED": "ACTIVE"}


class SubscriptionUser(BssUser):
    def on_start(self) -> None:
        self.create()

    def subscription(self):
        return self.ids.pick("subscriptions") or self.create()

    @task(8)
    def get_subscription(self) -> None:
        subscription = self.subscription()
        if subscription is not None:
            self.api.call("subscriptions.get", path={"id": subscription.id})

    @task(5)
    def list_subscriptions(self) -> None:
        self.api.call("subscriptions.list", params=self.page_params())

    @task(3)
    def subscriptions_by_customer(self) -> None:
        self.for_customer("subscriptions.by_customer", self.page_params())

    @task(2)
    def subscriptions_by_status(self) -> None:
        self.api.call("subscriptions.by_status", path={"status": self.rng.choice(("ACTIVE", "SUSPENDED"))},
                      params=self.page_params())

    @task(2)
    def search_subscriptions(self) -> None:
        subscription = self.subscription()
        if subscription is not None:
            self.api.call("subscriptions.search", params=self.page_params(searchTerm=subscription.subscription_number))

    @task(2)
    def create(self):
        customer = self.customer()
        product = self.catalogue_product()
        if customer is None or product is None:
            return None
        return self.create_subscription(customer.id, product.id)

    @task(2)
    def update_subscription(self) -> None:
        subscription = self.subscription()
        if subscription is None:
            return
        updated = self.api.call(
            "subscriptions.update", path={"id": subscription.id},
            body=m.UpdateSubscription(id=subscription.id, price=round(self.rng.uniform(10, 120), 2)),
        )
        if updated is not None:
            self.ids.replace("subscriptions", subscription, updated)

    @task(1)
    def change_status(self) -> None:
        subscription = self.subscription()
        if subscription is None or subscription.status not in NEXT_STATUS:
            return
        changed = self.api.call(
            "subscriptions.change_status", path={"id": subscription.id},
            body=m.ChangeSubscriptionStatus(id=subscription.id, status=NEXT_STATUS[subscription.status],
                                            reason="load test"),
        )
        if changed is not None:
            self.ids.replace("subscriptions", subscription, changed)

    @task(1)
    def renew(self) -> None:
        subscription = self.subscription()
        if subscription is not None:
            renewed = self.api.call("subscriptions.renew", path={"id": subscription.id})
            if renewed is not None:
                self.ids.replace("subscriptions", subscription, renewed)

    @task(1)
    def delete_subscription(self) -> None:
        subscription = self.ids.take("subscriptions")
        if subscription is not None:
            self.api.call("subscriptions.delete", path={"id": subscription.id})
