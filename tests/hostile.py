"""Hypothesis generators of hostile fault payloads: what a broken, old or malicious device
could put on the wire. Shared by the ingest handler's fuzz test and the diagnosis' one.

A payload is built as JSON text (not only `json.dumps` of a dict), so that tokens Python
never writes (`1e309`, `-0`, overlong UTF-8, lone surrogate escapes) reach the parser too.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from functions.domain.catalog import default_catalog
from functions.domain.intake import MAX_CLOCK_SKEW, MAX_EVENT_AGE
from schemas.device import MAX_PAYLOAD_BYTES

CATALOG = default_catalog()
SENSORS = sorted(CATALOG.telemetry)
ALARM_NAMES = ("gas_detected", "leak_sensor_wet")
FIELDS = ("schema", "event_id", "occurred_at", "fault_code", "firmware", "telemetry")
KINDS = (
    "valid",
    "structure",
    "size",
    "number",
    "encoding",
    "type",
    "timestamp",
    "telemetry",
    "event_id",
    "schema_tag",
)

# --------------------------------------------------------------------------- JSON values

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)

# Number tokens as JSON text: what other encoders, or none, produce.
number_tokens = st.sampled_from(
    [
        "NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1e-400", "-0", "-0.0", "0e0",
        "123456789012345678901234567890", "9" * 4400, "-" + "9" * 300, "1E+2", "0.1e1",
        "01", "+1", ".5", "5.", "0x10", "1_000", "nan", "inf",  # the last eight are not JSON
    ]
)  # fmt: skip

# String escapes and raw bytes that break a decoder or a store further down.
string_bodies = st.sampled_from(
    [
        "",
        "\\u0000",
        "\\ud800",  # lone high surrogate
        "\\udfff",  # lone low surrogate
        "\\ud83d\\ude00",  # a valid pair
        "caf\\u00e9",
        '\\\\\\"',
        "#EVENT#x",
        "a" * 65,
        "a" * 4096,
    ]
)
raw_byte_noise = st.sampled_from(
    [
        b"\xff",
        b"\xc0\xaf",  # overlong '/'
        b"\xe0\x80\xaf",  # overlong '/', three bytes
        b"\xed\xa0\x80",  # a surrogate encoded as UTF-8 (CESU)
        b"\x00",  # raw NUL: not allowed unescaped in a JSON string
        b"\xf4\x90\x80\x80",  # beyond U+10FFFF
        b"\x80",
    ]
)

# --------------------------------------------------------------------------- fields


def timestamps(received: datetime) -> st.SearchStrategy[Any]:
    """occurred_at values: inside and outside the window, naive, non-ISO, odd offsets."""
    inside = st.timedeltas(min_value=-MAX_EVENT_AGE, max_value=MAX_CLOCK_SKEW).map(
        lambda d: (received + d).isoformat()
    )
    edges = st.sampled_from(
        [
            (received + MAX_CLOCK_SKEW).isoformat(),
            (received + MAX_CLOCK_SKEW + timedelta(milliseconds=1)).isoformat(),
            (received - MAX_EVENT_AGE).isoformat(),
            (received - MAX_EVENT_AGE - timedelta(milliseconds=1)).isoformat(),
        ]
    )
    odd = st.sampled_from(
        [
            received.replace(tzinfo=None).isoformat(),  # naive
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59.999999-23:59",
            "1970-01-01T00:00:00Z",
            received.strftime("%Y-%m-%dT23:59:60Z"),  # leap second
            received.strftime("%d/%m/%Y %H:%M"),
            received.strftime("%a, %d %b %Y %H:%M:%S GMT"),
            received.strftime("%Y-%m-%dt%H:%M:%Sz"),
            received.strftime("%Y%m%dT%H%M%SZ"),
            "yesterday",
            "",
            str(int(received.timestamp())),
            int(received.timestamp()),
            received.timestamp() * 1000,
            10**20,
        ]
    )
    return st.one_of(inside, edges, odd)


event_ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True),
    st.sampled_from(["", "a" * 65, "évènement", "id with space", "a/b", "a#b", "💥"]),
    st.text(min_size=1, max_size=70),
)
fault_codes = st.one_of(
    st.sampled_from(sorted({code for m in CATALOG.models() for code in m.codes})),
    st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True),
    st.text(max_size=20),
)
sensor_names = st.one_of(
    st.sampled_from(SENSORS),
    st.from_regex(r"[a-z][a-z0-9_]{0,47}", fullmatch=True),
    st.sampled_from(["", "Upper", "1st", "a" * 49, "température", "a-b", "a.b", "$where"]),
)


def reading_values(name: str | None = None) -> st.SearchStrategy[Any]:
    """A telemetry value of any type: the right kind for `name`, the wrong one, absurd ones."""
    spec = CATALOG.telemetry.get(name or "")
    plausible: list[st.SearchStrategy[Any]] = []
    if spec is not None and spec.kind == "number":
        low = -1e6 if spec.min is None else spec.min
        high = 1e6 if spec.max is None else spec.max
        plausible.append(st.floats(min_value=low - 10, max_value=high + 10))
    return st.one_of(
        *plausible,
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(),  # NaN and infinities included
        # too large for a float (math.isfinite overflows on them), either sign
        st.integers(min_value=10**308, max_value=10**400).flatmap(
            lambda n: st.sampled_from([n, -n])
        ),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), -1e308, 1e308]),
        st.dictionaries(st.text(max_size=3), st.floats(), max_size=2),  # nested
        st.text(max_size=70),
        st.sampled_from(["12.5", "true", "NaN", "1e309", ""]),
        st.none(),
        st.lists(st.integers(), max_size=2),
    )


# What the contract accepts as a reading, whether or not it makes sense for the sensor.
valid_values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=64),
)

telemetry_maps = st.one_of(
    st.dictionaries(sensor_names, st.none(), max_size=6).flatmap(
        lambda names: st.fixed_dictionaries({n: reading_values(n) for n in names})
    ),
    st.integers(min_value=65, max_value=90).map(lambda n: {f"s{i}": i for i in range(n)}),
)

# --------------------------------------------------------------------------- payloads


def a_valid_fault(received: datetime) -> st.SearchStrategy[dict[str, Any]]:
    """A fault the contract accepts; the other generators break it in one or more ways."""
    return st.fixed_dictionaries(
        {
            "schema": st.just("fault/1"),
            "event_id": st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True),
            "occurred_at": st.timedeltas(min_value=-MAX_EVENT_AGE, max_value=MAX_CLOCK_SKEW).map(
                lambda d: (received + d).isoformat()
            ),
            "fault_code": fault_codes.filter(lambda c: c.isascii() and c.isalnum()),
            "firmware": st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True),
            "telemetry": st.dictionaries(st.sampled_from(SENSORS), valid_values, max_size=4),
        }
    )


def _dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _with_token(fault: dict[str, Any], field: str, token: str) -> bytes:
    """The fault as JSON text with `field` (or the reading of that name) set to a raw token."""
    marker = "\u2603placeholder\u2603"
    document = {**fault, field: marker} if field in FIELDS else fault_with(fault, field, marker)
    return _dumps(document).replace(json.dumps(marker, ensure_ascii=False).encode(), token.encode())


def fault_with(fault: dict[str, Any], sensor: str, value: Any) -> dict[str, Any]:
    telemetry = fault.get("telemetry")
    base = telemetry if isinstance(telemetry, dict) else {}
    return {**fault, "telemetry": {**base, sensor: value}}


@st.composite
def hostile_payloads(draw: st.DrawFn, received: datetime, kind: str) -> bytes:
    """A fault broken in the way `kind` (one of KINDS) names; "valid" leaves it whole."""
    fault = draw(a_valid_fault(received))
    if kind == "valid":
        return _dumps(fault)
    if kind == "structure":
        return draw(_structural(fault))
    if kind == "size":
        return draw(_sized(fault))
    if kind == "number":
        field = draw(st.sampled_from([*FIELDS[1:], *SENSORS]))
        return _with_token(fault, field, draw(number_tokens))
    if kind == "encoding":
        return draw(_encoded(fault))
    if kind == "type":
        broken = dict(fault)
        for field in draw(st.sets(st.sampled_from(FIELDS), min_size=1)):
            broken[field] = draw(json_values)
        return _dumps(broken)
    if kind == "timestamp":
        return _dumps({**fault, "occurred_at": draw(timestamps(received))})
    if kind == "telemetry":
        return _dumps({**fault, "telemetry": draw(telemetry_maps)})
    if kind == "event_id":
        return _dumps({**fault, "event_id": draw(event_ids)})
    tag = draw(st.sampled_from(["fault/0", "fault/2", "FAULT/1", "", None, 1, ["fault/1"]]))
    return _dumps({**fault, "schema": tag})


@st.composite
def _structural(draw: st.DrawFn, fault: dict[str, Any]) -> bytes:
    shape = draw(st.sampled_from(["array", "scalar", "nested", "missing", "extra", "dupkey"]))
    if shape == "array":
        return _dumps([fault] * draw(st.integers(0, 3)))
    if shape == "scalar":
        return draw(st.sampled_from([b"null", b"true", b"42", b'"fault"', b"", b" ", b"{}"]))
    if shape == "nested":
        depth = draw(st.integers(1, 3000))
        return b'{"fault": ' * depth + _dumps(fault) + b"}" * depth
    if shape == "missing":
        gone = draw(st.sets(st.sampled_from(FIELDS), min_size=1))
        return _dumps({k: v for k, v in fault.items() if k not in gone})
    if shape == "extra":
        extra = draw(st.sampled_from(["manufacturer", "thing_name", "home_id", "__proto__", ""]))
        return _dumps({**fault, extra: draw(json_values)})
    # Duplicate keys: the parser keeps the last one, whatever the first said.
    text = _dumps(fault)
    return text[:-1] + b', "fault_code": ' + _dumps(draw(json_values)) + b"}"


@st.composite
def _sized(draw: st.DrawFn, fault: dict[str, Any]) -> bytes:
    """Whitespace padding to just under, at, and over the cap (otherwise a valid fault)."""
    text = _dumps(fault)
    target = MAX_PAYLOAD_BYTES + draw(st.sampled_from([-1, 0, 1, 2, 4096, 64 * 1024]))
    if draw(st.booleans()):  # inside a value instead of whitespace
        padded = _dumps({**fault, "firmware": "x" * max(0, target - len(text))})
        return padded
    return text + b" " * max(0, target - len(text))


@st.composite
def _encoded(draw: st.DrawFn, fault: dict[str, Any]) -> bytes:
    how = draw(
        st.sampled_from(["bom", "utf16", "utf32", "noise", "escape_in_id", "escape_in_reading"])
    )
    text = _dumps(fault)
    if how == "bom":
        return b"\xef\xbb\xbf" + text
    if how == "utf16":
        return text.decode().encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"])))
    if how == "utf32":
        return text.decode().encode("utf-32")
    if how == "noise":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(raw_byte_noise) + text[at:]
    body = draw(string_bodies)
    if how == "escape_in_id":
        field = draw(st.sampled_from(["event_id", "firmware", "fault_code"]))
        return _with_token(fault, field, f'"{body}"')
    # A reading whose name or value carries the escape.
    key_marker, value_marker = "\u2603key\u2603", "\u2603value\u2603"
    name = draw(st.one_of(st.sampled_from(SENSORS), st.just(body)))
    text = _dumps(fault_with(fault, key_marker, value_marker))
    for marker, token in ((key_marker, name), (value_marker, body)):
        text = text.replace(json.dumps(marker, ensure_ascii=False).encode(), f'"{token}"'.encode())
    return text
