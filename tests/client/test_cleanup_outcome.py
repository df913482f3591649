"""cleanup.outcome: one log line at the end of a cleanup; a WARNING only when a delete failed."""

import logging

from bss_loadtest.client import cleanup
from bss_loadtest.client.cleanup import NO_DELETE, SKIPPED, CleanupReport, merge_reports, outcome


def left(resource: str, reason: str, n: int = 1) -> list[tuple[str, str, str]]:
    return [(resource, f"{resource}-{i}", reason) for i in range(n)]


def report_of(deleted: int, leftovers: list[tuple[str, str, str]], **kw) -> CleanupReport:
    report = CleanupReport(deleted=deleted, **kw)
    for resource, entity_id, reason in leftovers:
        report.leave(resource, entity_id, reason)
    return report


def test_nothing_left():
    assert outcome(CleanupReport(deleted=7)) == (logging.INFO, "Cleanup: 7 deleted")


def test_entities_without_a_delete_are_expected_leftovers():
    report = report_of(0, [*left("assets", NO_DELETE), *left("network_elements", NO_DELETE),
                           *left("sim_cards", NO_DELETE, 2)])
    assert outcome(report) == (logging.INFO, "Cleanup: 0 deleted; left as expected: 4 "
                                             "(no DELETE in the API: assets 1, network_elements 1, sim_cards 2)")
    skipped = report_of(3, left("products", SKIPPED))
    assert outcome(skipped)[0] == logging.INFO


def test_a_failed_delete_is_a_warning_that_also_names_the_expected_ones():
    report = report_of(5, [
        *left("customers", "DELETE answered HTTP 429", 2),
        *left("invoices", "owning customer not deleted (DELETE answered HTTP 429); no DELETE in the API"),
        *left("assets", NO_DELETE)])
    level, message = outcome(report)
    assert level == logging.WARNING
    assert message == ("Cleanup: 5 deleted, 3 not deleted (DELETE answered HTTP 429: customers 2; owning customer "
                       "not deleted (DELETE answered HTTP 429); no DELETE in the API: invoices 1); "
                       "left as expected: 1 (no DELETE in the API: assets 1)")


def test_leftovers_are_counted_in_full_and_listed_up_to_the_limit(monkeypatch):
    monkeypatch.setattr(cleanup, "LISTED_LIMIT", 3)
    report = report_of(1, [*left("customers", "DELETE answered HTTP 503", 4), *left("assets", NO_DELETE, 2)],
                       untracked={"orders": 7})
    assert len(report.not_deleted) == 3 and report.not_deleted_count == 6
    assert report.left_behind == {"DELETE answered HTTP 503": {"customers": 4}, NO_DELETE: {"assets": 2}}
    level, message = outcome(report)
    assert level == logging.WARNING
    assert message.startswith("Cleanup: 1 deleted, 4 not deleted (DELETE answered HTTP 503: customers 4); "
                              "left as expected: 2 (no DELETE in the API: assets 2); not tracked")
    assert message.endswith("left on the target): 7 (orders 7)")
    # two processes' reports: counts summed, the list still bounded
    report.requests = {"DELETE /api/v1/customers/{id}": 2}
    other = report_of(2, left("customers", "DELETE answered HTTP 503", 2), untracked={"orders": 1, "payments": 2},
                      swept=1, requests={"DELETE /api/v1/customers/{id}": 1, "GET /api/v1/customers/search": 1})
    merged = merge_reports([report.to_dict(), other.to_dict()])
    assert merged["deleted"] == 3 and merged["not_deleted_count"] == 8 and len(merged["not_deleted"]) == 3
    assert merged["left_behind"] == {"DELETE answered HTTP 503": {"customers": 6}, NO_DELETE: {"assets": 2}}
    assert merged["untracked"] == {"orders": 8, "payments": 2}
    assert merged["requests"] == {"DELETE /api/v1/customers/{id}": 3, "GET /api/v1/customers/search": 1}
    assert merged["swept"] == 1
    assert merge_reports([]) is None
    # a report of an older version (no counts) still merges: its list is its count
    assert merge_reports([{"deleted": 1, "not_deleted": [{"resource": "a", "id": "1", "reason": "r"}]}])[
        "not_deleted_count"] == 1


def test_only_untracked_leftovers_are_an_info_line():
    level, message = outcome(CleanupReport(deleted=4, untracked={"customers": 2}))
    assert level == logging.INFO and "not tracked" in message and "customers 2" in message
