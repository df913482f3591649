"""The BSS API client layer: endpoints as data, pydantic models, auth, test data, cleanup.

Only :mod:`bss_loadtest.client.base` (the base user) and :mod:`~bss_loadtest.client.lifecycle`
touch Locust; the other modules are importable without it.
"""
