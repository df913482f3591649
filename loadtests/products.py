"""Product catalogue load (/api/products): catalogue reads dominate; own products are created, changed, deleted."""

from locust import task

from bss_loadtest.client import models as m
from bss_loadtest.client.base import BssUser

NEXT_STATUS = {"ACTIVE": "INACTIVE", "INACTIVE": "ACTIVE"}


class ProductUser(BssUser):
    def on_start(self) -> None:
        self.create_product()

    @task(8)
    def list_products(self) -> None:
        self.api.call("products.list", params=self.page_params())

    @task(8)
    def get_product(self) -> None:
        product = self.product()
        if product is not None:
            self.api.call("products.get", path={"id": product.id})

    @task(4)
    def active_products(self) -> None:
        self.api.call("products.active", params=self.page_params())

    @task(2)
    def products_by_status(self) -> None:
        self.api.call("products.by_status", path={"status": self.rng.choice(("ACTIVE", "INACTIVE"))},
                      params=self.page_params())

    @task(3)
    def search_products(self) -> None:
        term = self.rng.choice(("Plan", "Fiber", "Mobile", self.data.run_id))
        self.api.call("products.search", params=self.page_params(searchTerm=term))

    @task(1)
    def create(self) -> None:
        self.create_product()

    @task(1)
    def update_product(self) -> None:
        product = self.product()
        if product is None:
            return
        updated = self.api.call("products.update", path={"id": product.id}, body=self.data.product_update(product))
        if updated is not None:
            self.ids.replace("products", product, updated)

    @task(1)
    def change_status(self) -> None:
        product = self.product()
        if product is None or product.status not in NEXT_STATUS:
            return
        changed = self.api.call(
            "products.change_status", path={"id": product.id},
            body=m.ChangeProductStatus(id=product.id, status=NEXT_STATUS[product.status], version=product.version),
        )
        if changed is not None:
            self.ids.replace("products", product, changed)

    @task(1)
    def delete_product(self) -> None:
        product = self.ids.take("products")
        if product is not None:
            self.api.call("products.delete", path={"id": product.id}, params={"version": product.version})
