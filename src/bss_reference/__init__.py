"""The reference BSS server: a FastAPI + SQLite stand-in for the droid-spring BSS backend.

It implements the *intended* contract of ``shared/bss-api.md`` (see ``docs/architecture.md``):
documented status codes, validation (400 problem details naming the field), state machines (409 for
illegal transitions and version conflicts), 404 for unknown ids, pagination, Keycloak-compatible
auth, rate limiting, fault injection and Prometheus metrics.

Error bodies (RFC 7807, ``application/problem+json``) everywhere, with one documented exception:
a GET of a single resource by id (or by invoice number) that does not exist answers 404 with an
empty body, as the contract documents; so does DELETE of an unknown customer. Every other 404
(updates, status changes, actions on unknown ids) carries problem JSON.

Entry points: ``bss_reference.cli`` (``configure_parser`` / ``run``), ``python -m bss_reference``
and ``bss_reference.process.ReferenceServer`` for tests.
"""

__version__ = "0.1.0"
