"""cleanup.outcome: one log line at the end of a cleanup; a WARNING only when a delete failed."""

import logging

from bss_loadtest.client.cleanup import NO_DELETE, SKIPPED, CleanupReport, outcome


def left(resource: str, reason: str, n: int = 1) -> list[dict[str, str]]:
    return [{"resource": resource, "id": f"{resource}-{i}", "reason": reason} for i in range(n)]


def test_nothing_left():
    assert outcome(CleanupReport(deleted=7)) == (logging.INFO, "Cleanup: 7 deleted")


def test_entities_without_a_delete_are_expected_leftovers():
    report = CleanupReport(deleted=0, not_deleted=[*left("assets", NO_DELETE), *left("network_elements", NO_DELETE),
                                                   *left("sim_cards", NO_DELETE, 2)])
    assert outcome(report) == (logging.INFO, "Cleanup: 0 deleted; left as expected: 4 "
                                             "(no DELETE in the API: assets 1, network_elements 1, sim_cards 2)")
    skipped = CleanupReport(deleted=3, not_deleted=left("products", SKIPPED))
    assert outcome(skipped)[0] == logging.INFO


def test_a_failed_delete_is_a_warning_that_also_names_the_expected_ones():
    report = CleanupReport(deleted=5, not_deleted=[
        *left("customers", "DELETE answered HTTP 429", 2),
        *left("invoices", "owning customer not deleted (DELETE answered HTTP 429); no DELETE in the API"),
        *left("assets", NO_DELETE)])
    level, message = outcome(report)
    assert level == logging.WARNING
    assert message == ("Cleanup: 5 deleted, 3 not deleted (DELETE answered HTTP 429: customers 2; owning customer "
                       "not deleted (DELETE answered HTTP 429); no DELETE in the API: invoices 1); "
                       "left as expected: 1 (no DELETE in the API: assets 1)")
