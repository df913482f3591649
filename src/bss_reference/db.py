"""SQLite persistence: one connection, one table per resource, each row a JSON document.

Every table has the same shape: an insertion sequence ``rid`` (the ``createdAt`` order), the
resource ``id``, the indexed columns the lists filter on (``customer_id``, ``status``, ``ukey`` =
the resource's unique business key) and the document ``doc`` (the response JSON). Other filters
and searches use ``json_extract`` in SQL. Calls are synchronous and fast; the server calls them
directly from ``async`` handlers on one event loop, so there is never concurrent access.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    name: str
    customer_field: str | None = "customerId"
    status_field: str | None = "status"
    key_field: str | None = None


TABLES = {
    t.name: t
    for t in (
        Table("customers", customer_field="id"),
        Table("orders", key_field="orderNumber"),
        Table("invoices", key_field="invoiceNumber"),
        Table("payments", status_field="paymentStatus", key_field="paymentNumber"),
        Table("products", customer_field=None, key_field="productCode"),
        Table("services", customer_field=None, key_field="serviceCode"),
        Table("activations", key_field="serviceCode"),
        Table("assets", customer_field="assignedToId", key_field="assetTag"),
        Table("elements", customer_field=None, key_field="elementId"),
        Table("sims", customer_field="assignedToId", key_field="iccid"),
        Table("subscriptions", key_field="subscriptionNumber"),
    )
}

#: Expression indexes for lookups that run on every write (uniqueness checks).
EXTRA_INDEXES = {
    "customers": ("pesel", "nip"),
}

#: Tables whose rows belong to a customer and go with it when the customer is deleted.
CASCADE_TABLES = ("orders", "invoices", "payments", "subscriptions", "activations")

_DUMPS = json.JSONEncoder(separators=(",", ":")).encode


class DatabaseError(Exception):
    """The database file cannot be opened or initialised (a user error at start-up)."""


class Database:
    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            if path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self._create_schema()
            if path != ":memory:":
                self.conn.execute("BEGIN IMMEDIATE")  # fails now, not later, when read-only
                self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open database {path!r}: {exc}") from None

    def _create_schema(self) -> None:
        for name in TABLES:
            self.conn.executescript(
                f"""
                CREATE TABLE IF NOT EXISTS {name} (
                    rid INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    customer_id TEXT,
                    status TEXT,
                    ukey TEXT,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    doc TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS {name}_customer ON {name}(customer_id);
                CREATE INDEX IF NOT EXISTS {name}_status ON {name}(status);
                CREATE INDEX IF NOT EXISTS {name}_ukey ON {name}(ukey);
                """
            )
            for field in EXTRA_INDEXES.get(name, ()):
                self.conn.execute(f"CREATE INDEX IF NOT EXISTS {name}_{field} "
                                  f"ON {name}(json_extract(doc, '$.{field}'))")

    def close(self) -> None:
        self.conn.close()

    # -- columns ---------------------------------------------------------------------------
    @staticmethod
    def _columns(table: Table, doc: dict[str, Any]) -> tuple[Any, Any, Any]:
        cust = doc.get(table.customer_field) if table.customer_field else None
        status = doc.get(table.status_field) if table.status_field else None
        key = doc.get(table.key_field) if table.key_field else None
        # Free text goes through JSON escaping so that odd unicode never reaches SQLite raw.
        return cust, status, (_DUMPS(key) if key is not None else None)

    # -- writes ----------------------------------------------------------------------------
    def insert(self, name: str, doc: dict[str, Any]) -> None:
        cust, status, key = self._columns(TABLES[name], doc)
        self.conn.execute(
            f"INSERT INTO {name} (id, customer_id, status, ukey, doc) VALUES (?,?,?,?,?)",
            (doc["id"], cust, status, key, _DUMPS(doc)),
        )

    def update(self, name: str, doc: dict[str, Any]) -> None:
        cust, status, key = self._columns(TABLES[name], doc)
        self.conn.execute(
            f"UPDATE {name} SET customer_id=?, status=?, ukey=?, doc=? WHERE id=?",
            (cust, status, key, _DUMPS(doc), doc["id"]),
        )

    def soft_delete(self, name: str, ident: str) -> None:
        self.conn.execute(f"UPDATE {name} SET deleted=1 WHERE id=?", (ident,))

    def delete(self, name: str, ident: str) -> int:
        return self.conn.execute(f"DELETE FROM {name} WHERE id=?", (ident,)).rowcount

    def delete_customer_cascade(self, customer_id: str) -> int:
        self.conn.execute("BEGIN")
        try:
            for child in CASCADE_TABLES:
                self.conn.execute(f"DELETE FROM {child} WHERE customer_id=?", (customer_id,))
            n = self.conn.execute("DELETE FROM customers WHERE id=?", (customer_id,)).rowcount
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return n

    # -- reads -----------------------------------------------------------------------------
    def get(self, name: str, ident: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            f"SELECT doc FROM {name} WHERE id=? AND deleted=0", (ident,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def key_exists(self, name: str, key: Any, *, except_id: str | None = None) -> bool:
        row = self.conn.execute(
            f"SELECT 1 FROM {name} WHERE ukey=? AND deleted=0 AND id IS NOT ? LIMIT 1",
            (_DUMPS(key), except_id),
        ).fetchone()
        return row is not None

    def get_by_key(self, name: str, key: Any) -> dict[str, Any] | None:
        row = self.conn.execute(
            f"SELECT doc FROM {name} WHERE ukey=? AND deleted=0 LIMIT 1", (_DUMPS(key),)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def count(self, name: str, where: str = "", params: Iterable[Any] = ()) -> int:
        sql = f"SELECT count(*) FROM {name} WHERE deleted=0" + (f" AND ({where})" if where else "")
        return self.conn.execute(sql, tuple(params)).fetchone()[0]

    def select(self, name: str, where: str = "", params: Iterable[Any] = (), *,
               order: str = "rid DESC", limit: int = -1, offset: int = 0) -> list[dict[str, Any]]:
        sql = (f"SELECT doc FROM {name} WHERE deleted=0" + (f" AND ({where})" if where else "")
               + f" ORDER BY {order} LIMIT ? OFFSET ?")
        rows = self.conn.execute(sql, (*params, limit, offset)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def page(self, name: str, where: str, params: Iterable[Any], page: int, size: int, *,
             order: str = "rid DESC") -> tuple[list[dict[str, Any]], int]:
        params = tuple(params)
        total = self.count(name, where, params)
        if page * size >= total:
            return [], total
        return self.select(name, where, params, order=order, limit=size, offset=page * size), total
