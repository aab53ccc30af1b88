"""What one DynamoDB request costs in capacity units, from the items it reads and writes.

The rules are DynamoDB's own ("DynamoDB item sizes and formats", "Read/write capacity
mode", "Global secondary indexes: writes"); the index rules follow captures against real
DynamoDB published with the dynoxide emulator (src/actions/index_capacity.rs):

- An item's size is the sum of its attribute names and values: a string its UTF-8 bytes, a
  number 1 byte per two significant digits plus 1, a binary its raw bytes, a boolean or null
  1 byte, a list or map 3 bytes plus 1 byte and the size (with the key's name, for a map) of
  each element, a set the sum of its elements.
- A write costs 1 unit per KB (1,024 bytes, rounded up) of the larger of the item before and
  after it; inside TransactWriteItems 2 per KB. A condition that fails still costs the write.
- A read costs 1 unit per 4 KB strongly consistent, half of it eventually consistent, 2
  inside a transaction. A Query rounds the summed size of every item it evaluated (the
  filter and the projection do not reduce it); GetItem and BatchGetItem round each item,
  and an item that is not there still costs the minimum.
- An index holds an entry per item that has the index's key attributes: the table's keys,
  the index's keys and the projected attributes. A write that creates an entry costs its
  size, one that removes an entry the old size, one that changes an entry in place the
  larger of the two (nothing when the entry is unchanged), and one that moves the entry to
  another index key a delete plus a put. Index writes are not doubled in a transaction
  (an assumption: DynamoDB documents the factor for the table's writes only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Item = Mapping[str, Any]  # attribute name -> AttributeValue ({"S": ...}, {"N": ...}, ...)

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096


def number_bytes(text: str) -> int:
    """A number's size: 1 byte per two significant digits, plus 1 (and 1 for a minus)."""
    negative = text.startswith("-")
    mantissa = text.lstrip("+-").lower().split("e")[0]
    significant = max(len(mantissa.replace(".", "").strip("0")), 1)
    return math.ceil(significant / 2) + 1 + int(negative)


def value_bytes(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return number_bytes(str(inner))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_bytes(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(1 + value_bytes(v) for v in inner)
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(number_bytes(n) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    raise TypeError(f"unknown attribute type {kind}")


def item_bytes(item: Item | None) -> int:
    """DynamoDB's size of an item (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def write_units(size: int, transactional: bool = False) -> float:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES)) * (2.0 if transactional else 1.0)


def read_units(size: int, consistent: bool = False, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return units * (2.0 if transactional else 1.0 if consistent else 0.5)


@dataclass(frozen=True)
class Index:
    """A global secondary index, as template.yaml declares it."""

    name: str
    keys: tuple[str, ...]  # its partition key, then its sort key if any
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()

    @property
    def partition_key(self) -> str:
        return self.keys[0]


@dataclass(frozen=True)
class TableShape:
    """A table's keys and indexes, as template.yaml declares them."""

    name: str
    keys: tuple[str, ...]  # partition key, then sort key
    indexes: tuple[Index, ...] = ()

    @property
    def partition_key(self) -> str:
        return self.keys[0]

    def index(self, name: str) -> Index:
        return next(i for i in self.indexes if i.name == name)

    @classmethod
    def from_template(cls, logical_id: str, properties: Mapping[str, Any]) -> TableShape:
        def key_names(schema: Sequence[Mapping[str, str]]) -> tuple[str, ...]:
            ordered = sorted(schema, key=lambda k: k["KeyType"] != "HASH")
            return tuple(k["AttributeName"] for k in ordered)

        indexes = tuple(
            Index(
                name=gsi["IndexName"],
                keys=key_names(gsi["KeySchema"]),
                projection=gsi["Projection"]["ProjectionType"],
                included=tuple(gsi["Projection"].get("NonKeyAttributes", ())),
            )
            for gsi in properties.get("GlobalSecondaryIndexes", ())
        )
        return cls(logical_id, key_names(properties["KeySchema"]), indexes)


def index_entry(item: Item | None, table: TableShape, index: Index) -> dict[str, Any] | None:
    """The entry `index` holds for `item`: None when the item lacks the index's keys."""
    if not item or any(k not in item for k in index.keys):
        return None
    if index.projection == "ALL":
        return dict(item)
    kept = {*table.keys, *index.keys, *index.included}
    return {name: value for name, value in item.items() if name in kept}


def index_writes(
    old: Item | None, new: Item | None, table: TableShape, index: Index
) -> list[tuple[dict[str, Any], float]]:
    """What one write of an item costs `index`: (entry written or removed, units) for each
    index partition it touches; nothing when its entry neither appeared, disappeared nor
    changed. A moved entry is a delete under the old key and a put under the new one."""
    before = index_entry(old, table, index)
    after = index_entry(new, table, index)
    if (before is None and after is None) or before == after:
        return []
    if before is None:
        assert after is not None
        return [(after, write_units(item_bytes(after)))]
    if after is None:
        return [(before, write_units(item_bytes(before)))]
    if any(before[k] != after[k] for k in index.keys):
        return [
            (before, write_units(item_bytes(before))),
            (after, write_units(item_bytes(after))),
        ]
    return [(after, max(write_units(item_bytes(before)), write_units(item_bytes(after))))]


def partition_value(item: Item | None, attribute: str) -> str | None:
    if not item or attribute not in item:
        return None
    ((_, value),) = item[attribute].items()
    return str(value)
