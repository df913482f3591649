"""Asset API load (/api/assets): inventory reads dominate; assets, network elements and SIM cards are
created, assigned and released."""

from locust import task

from bss_loadtest.client.base import BssUser


class AssetUser(BssUser):
    def on_start(self) -> None:
        self.create_customer()
        self.create_asset()

    def create_asset(self):
        return self.create_and_keep("assets.create", self.data.asset())

    @task(4)
    def list_assets(self) -> None:
        self.api.call("assets.list")

    @task(3)
    def available_assets(self) -> None:
        self.api.call("assets.available")

    @task(2)
    def assets_by_customer(self) -> None:
        self.for_customer("assets.by_customer")

    @task(2)
    def warranty_expiring(self) -> None:
        self.api.call("assets.warranty_expiring", params={"days": 30})

    @task(2)
    def create(self) -> None:
        self.create_asset()

    @task(2)
    def assign_asset(self) -> None:
        asset = self.ids.pick("assets")
        customer = self.customer()
        if asset is None or customer is None or asset.status != "AVAILABLE":
            return
        assigned = self.api.call("assets.assign", path={"assetId": asset.id}, body=self.data.assignment(customer.id))
        if assigned is not None:
            self.ids.replace("assets", asset, assigned)

    @task(1)
    def release_asset(self) -> None:
        asset = self.ids.pick("assets")
        if asset is None or asset.status != "IN_USE":
            return
        released = self.api.call("assets.release", path={"assetId": asset.id})
        if released is not None:
            self.ids.replace("assets", asset, released)

    @task(1)
    def create_element(self) -> None:
        self.create_and_keep("assets.element_create", self.data.network_element())

    @task(2)
    def heartbeat(self) -> None:
        element = self.ids.pick("network_elements")
        if element is not None:
            self.api.call("assets.element_heartbeat", path={"elementId": element.element_id})

    @task(2)
    def list_elements(self) -> None:
        self.api.call("assets.elements")

    @task(2)
    def online_elements(self) -> None:
        self.api.call("assets.elements_online")

    @task(1)
    def maintenance_elements(self) -> None:
        self.api.call("assets.elements_maintenance")

    @task(1)
    def create_sim(self) -> None:
        self.create_and_keep("assets.sim_create", self.data.sim_card())

    @task(1)
    def assign_sim(self) -> None:
        sim = self.ids.take("sim_cards")
        customer = self.customer()
        if sim is None or customer is None or sim.status not in (None, "AVAILABLE"):
            return
        self.api.call("assets.sim_assign", path={"simId": sim.id},
                      params={"assignedToType": "CUSTOMER", "assignedToId": customer.id,
                              "assignedToName": self.data.tag})

    @task(2)
    def list_sims(self) -> None:
        self.api.call("assets.sims")

    @task(2)
    def available_sims(self) -> None:
        self.api.call("assets.sims_available")

    @task(1)
    def sims_by_customer(self) -> None:
        self.for_customer("assets.sims_by_customer")

    @task(1)
    def expired_sims(self) -> None:
        self.api.call("assets.sims_expired")

    @task(1)
    def expiring_sims(self) -> None:
        self.api.call("assets.sims_expiring", params={"days": 30})
