"""Response validation: a fast validator per response spec, and failure messages naming the field.

No locust import here, so unit tests (and the benchmark) can use it without gevent's patching.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError


def error_location(loc: tuple) -> str:
    """``('content', 0, 'email')`` → ``content[0].email``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def validation_message(status: int, error: ValidationError) -> str:
    """``HTTP 200 body invalid: content[0].email: Field required (+2 more)`` (inputs not echoed)."""
    errors = error.errors(include_url=False, include_input=False)
    first = errors[0]
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"HTTP {status} body invalid: {error_location(first['loc'])}: {first['msg']}{more}"


def validator_for(response: Any) -> Callable[[bytes], Any] | None:
    """``validate(bytes) -> parsed`` for a model, ``Page[Model]`` or ``list[Model]``; ``None`` for no body."""
    if response is None:
        return None
    if isinstance(response, type) and issubclass(response, BaseModel):
        return response.model_validate_json
    return TypeAdapter(response).validate_json
