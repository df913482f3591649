"""Smoke: one user calls every endpoint of every API once, validates each answer, then ends the run.

What each call sends and what must come before it is data in the endpoint table
(:class:`bss_loadtest.client.endpoints.Smoke`; ordered by :mod:`bss_loadtest.client.plan`), so a
new row is smoke-tested without a line here. Endpoints the target config skips are not called.
After the pass, an endpoint of the table that was not exercised (its prerequisite failed) is
reported as a failed request of its own, so a smoke run is green only if every endpoint answered
as the contract says.
"""

import gevent
from locust import stats, task
from locust.exception import StopUser

from bss_loadtest.client.base import BssUser
from bss_loadtest.client.plan import run_smoke
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
            run_smoke(self.api.call, self.data)
            self.report_missing()
            if getattr(self.environment.parsed_options, "csv_prefix", None):
                # Locust's CSV writer writes once per interval and not at shutdown: let it see the pass.
                gevent.sleep(stats.CSV_STATS_INTERVAL_SEC + 0.3)
        finally:
            runtime.request_stop(self.environment, "smoke pass complete")
        raise StopUser()

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
