"""Helpers shared by the API modules: ids, lookups, filters, paging, sorting and PageResponse."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Path, Query
from starlette.responses import Response

from bss_reference.db import Database
from bss_reference.problems import ApiError, bad_request, not_found

#: A path parameter that must be a UUID (checked by ``parse_uuid``; declared for OpenAPI).
UuidPath = Annotated[str, Path(json_schema_extra={"format": "uuid"}, description="A UUID.")]

MAX_PAGE = 10_000_000
MAX_SIZE = 10_000

_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def new_id() -> str:
    return str(uuid.uuid4())


def iso(d: dt.date | dt.datetime | None) -> str | None:
    if d is None:
        return None
    if isinstance(d, dt.datetime):
        return d.isoformat(timespec="milliseconds")
    return d.isoformat()


def parse_uuid(value: str, field: str) -> str:
    """The canonical form of a UUID path/query value, or a 400 naming ``field``."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise bad_request(field, "must be a UUID") from None


def try_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


def principal(request: Any) -> str:
    """Who calls: the bearer token's subject (set by the gateway), ``SYSTEM`` without auth."""
    return request.scope.get("bss.principal") or "SYSTEM"


def location(request: Any, ident: str) -> str:
    """``Location`` of a created resource: the request URL (without its query) plus the id."""
    return str(request.url.replace(query="")) + "/" + ident


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_DUMPS(body), status_code=status, media_type="application/json",
                    headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def empty_ok() -> Response:
    return Response(status_code=200)


def fetch(db: Database, table: str, what: str, ident: str, *, empty: bool = False) -> dict[str, Any]:
    """The live row ``ident`` of ``table``, or a 404 ``<what> not found`` (``empty``: no body)."""
    doc = db.get(table, ident)
    if doc is None:
        raise not_found(what, ident, empty=empty)
    return doc


def remove(db: Database, table: str, what: str, ident: str) -> Response:
    """Hard-delete row ``ident``: 204, or a 404 when there is none."""
    if not db.delete(table, ident):
        raise not_found(what, ident)
    return no_content()


def same_id(path_id: str, body_id: object, field: str = "id") -> None:
    """A body that repeats the path id must repeat it exactly (else 400 naming ``field``)."""
    if str(body_id) != path_id:
        raise bad_request(field, f"must equal the path {field}")


def full_name(customer: dict[str, Any]) -> str:
    return f"{customer['firstName']} {customer['lastName']}"


def revise(doc: dict[str, Any], ts: str, **changes: Any) -> dict[str, Any]:
    """Apply ``changes`` to a stored document: stamp ``updatedAt`` and count one more ``version``."""
    doc.update(changes, updatedAt=ts, version=doc["version"] + 1)
    return doc


def like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def all_of(*filters: tuple[str, Iterable[Any]] | None) -> tuple[str, tuple[Any, ...]]:
    """The SQL AND of ``(clause, params)`` filters, skipping ``None``: ``("a=? AND b=?", (1, 2))``."""
    given = [f for f in filters if f is not None]
    return " AND ".join(clause for clause, _ in given), tuple(p for _, params in given for p in params)


@dataclass(frozen=True)
class Paging:
    page: int
    size: int
    sort: str | None


def paging(
    page: int = Query(0, ge=0, le=MAX_PAGE, description="0-based page number."),
    size: int = Query(20, ge=1, le=MAX_SIZE, description="Page size."),
    sort: str | None = Query(None, max_length=200, description="`field` or `field,asc|desc`."),
) -> Paging:
    return Paging(page, size, sort)


def order_clause(sort: str | None, allowed: set[str]) -> str:
    """SQL ORDER BY for ``field[,asc|desc]``; default createdAt DESC. Unknown field → 400."""
    if not sort:
        return "rid DESC"
    parts = [p.strip() for p in sort.split(",")]
    field = parts[0]
    direction = "ASC"
    if len(parts) > 2:
        raise bad_request("sort", "must be 'field' or 'field,asc|desc'")
    if len(parts) == 2:
        d = parts[1].lower()
        if d not in ("asc", "desc"):
            raise bad_request("sort", "direction must be asc or desc")
        direction = d.upper()
    if field not in allowed:
        raise bad_request("sort", f"unknown sort field {field!r}; allowed: {', '.join(sorted(allowed))}")
    if field == "createdAt":
        return f"rid {direction}"
    return f"json_extract(doc, '$.{field}') {direction}, rid {direction}"


def page_body(content: list[Any], page: int, size: int, total: int) -> dict[str, Any]:
    total_pages = math.ceil(total / size) if size else 0
    return {
        "content": content,
        "page": page,
        "size": size,
        "totalElements": total,
        "totalPages": total_pages,
        "first": page == 0,
        "last": total_pages == 0 or page == total_pages - 1,
        "empty": not content,
    }


def page_response(db: Database, table: str, where: str, params: tuple, p: Paging, *,
                  order: str = "rid DESC") -> Response:
    rows, total = db.page(table, where, params, p.page, p.size, order=order)
    return json_response(page_body(rows, p.page, p.size, total))


def check_version(current: int, given: int | None) -> None:
    if given is None:
        raise bad_request("version", "must not be null")
    if given != current:
        raise ApiError(409, f"Version conflict detected: current version is {current}, got {given}",
                       code="version.conflict")


def enum_value(value: str, allowed: tuple[str, ...], field: str, *, case_insensitive: bool = False) -> str:
    """``value`` if it is one of ``allowed`` (upper-cased first when ``case_insensitive``), else a 400."""
    v = value.upper() if case_insensitive else value
    if v not in allowed:
        hint = " (case-insensitive)" if case_insensitive else ""
        raise bad_request(field, f"must be one of {', '.join(allowed)}{hint}")
    return v


def parse_date(value: str, field: str) -> str:
    """A ``yyyy-MM-dd`` query value in its canonical form, or a 400 naming ``field``."""
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise bad_request(field, "must be a date yyyy-MM-dd") from None
