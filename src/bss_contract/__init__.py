"""The BSS API contract shared by the client and the reference server (``shared/bss-api.md``).

Pure: it imports only the standard library (and pydantic where a model is shared), never
``locust``, FastAPI or either side's code, so both model sets can depend on it.
"""
