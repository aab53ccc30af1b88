"""The subset of AWS IoT SQL (version 2016-03-23) that our IoT rules use, for local routing.

The local stack reads each rule's SQL from template.yaml and routes MQTT messages with it,
so a rule behaves the same locally as in AWS IoT Core.

Supported:

- ``SELECT`` items: ``*`` (merges the JSON object payload), ``encode(*, 'base64')``,
  ``topic()``, ``topic(n)`` (1-based segment), ``timestamp()`` (ms), ``clientid()``,
  payload paths (``a.b.c``, double-quoted segments allowed), string / number /
  ``true`` / ``false`` literals; each optionally ``AS alias``.
- ``FROM 'topic/filter'`` with ``+`` and ``#`` wildcards.
- ``WHERE`` with ``= <> != < <= > >=``, ``AND``, ``OR``, ``NOT`` and parentheses.

Semantics follow AWS: a missing field is *undefined*; a comparison involving undefined
(or operands of incomparable types) is undefined; ``AND``/``OR``/``NOT`` of a non-boolean
is undefined; the rule fires only when ``WHERE`` is exactly true. Undefined ``SELECT``
items are left out of the result. Without ``AS``, a payload path is named after its last
segment (as in AWS); functions and literals must have an alias, so the event shape is
always spelled out in the template.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Rule",
    "RuleEvaluationError",
    "RuleSqlError",
    "parse_rule",
    "topic_matches",
]


class RuleSqlError(ValueError):
    """The SQL is invalid or uses something outside the supported subset."""


class RuleEvaluationError(Exception):
    """The message cannot be evaluated (AWS sends it to the rule's error action)."""


class _Undefined:
    """AWS's *undefined*: a missing value, distinct from JSON null."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED = _Undefined()


# --------------------------------------------------------------------------- topics


def _check_filter(topic_filter: str) -> None:
    if not topic_filter:
        raise RuleSqlError("FROM topic filter is empty")
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise RuleSqlError(f"'#' must be the whole last level in topic filter {topic_filter!r}")
        if "+" in level and level != "+":
            raise RuleSqlError(f"'+' must be a whole level in topic filter {topic_filter!r}")


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic filter matching with ``+`` (one level) and ``#`` (rest, incl. parent)."""
    # Per MQTT, wildcards at the first level never match $-topics like $aws/...
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for i, f in enumerate(f_levels):
        if f == "#":
            return True
        if i >= len(t_levels):
            return False
        if f != "+" and f != t_levels[i]:
            return False
    return len(f_levels) == len(t_levels)


# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>'[^']*')
  | (?P<qident>"[^"]+")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[*,().])
  | (?P<other>.)
    """,
    re.VERBOSE,
)

_KEYWORDS = {"SELECT", "FROM", "WHERE", "AS", "AND", "OR", "NOT", "TRUE", "FALSE"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number | string | ident | keyword | op | punct | other | eof
    value: str
    pos: int


def _tokenize(sql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(sql):
        m = _TOKEN_RE.match(sql, pos)
        assert m is not None  # the `other` group matches any single character
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "other" and text in "'\"":
            raise RuleSqlError(
                f"unterminated quoted text at position {pos}: {sql[pos : pos + 20]!r}"
            )
        if kind == "string":
            tokens.append(_Token("string", text[1:-1], pos))
        elif kind == "qident":
            tokens.append(_Token("ident", text[1:-1], pos))
        elif kind == "ident" and text.upper() in _KEYWORDS:
            tokens.append(_Token("keyword", text.upper(), pos))
        elif kind != "ws":
            tokens.append(_Token(kind, text, pos))
        pos = m.end()
    tokens.append(_Token("eof", "", len(sql)))
    return tokens


# --------------------------------------------------------------------------- AST


@dataclass
class _Context:
    topic: str
    payload: bytes
    client_id: str
    now_ms: int
    _doc: Any = field(default=UNDEFINED)

    def document(self) -> Any:
        """The payload parsed as JSON, once; RuleEvaluationError when it is not JSON."""
        if self._doc is UNDEFINED:
            try:
                self._doc = json.loads(self.payload)
            except (UnicodeDecodeError, ValueError) as exc:
                raise RuleEvaluationError(f"payload is not valid JSON: {exc}") from exc
        return self._doc


# An expression is compiled into a function of the message context.
_Expr = Callable[[_Context], Any]


@dataclass(frozen=True)
class _SelectItem:
    expr: _Expr | None  # None means `*`
    name: str | None


def _merge_star(ctx: _Context) -> dict[str, Any]:
    doc = ctx.document()
    if not isinstance(doc, dict):
        raise RuleEvaluationError(f"SELECT * needs a JSON object payload, got {type(doc).__name__}")
    return doc


def _path(segments: tuple[str, ...]) -> _Expr:
    def get(ctx: _Context) -> Any:
        value: Any = ctx.document()
        for seg in segments:
            if not isinstance(value, dict) or seg not in value:
                return UNDEFINED
            value = value[seg]
        return value

    return get


def _const(value: Any) -> _Expr:
    return lambda ctx: value


def _topic_level(n: int) -> _Expr:
    def get(ctx: _Context) -> Any:
        levels = ctx.topic.split("/")
        return levels[n - 1] if 1 <= n <= len(levels) else UNDEFINED

    return get


def _encode_payload_base64(ctx: _Context) -> str:
    return base64.b64encode(ctx.payload).decode("ascii")


# --------------------------------------------------------------------------- operators


def _as_bool(value: Any) -> bool | _Undefined:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return UNDEFINED


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Operands coerced to one type, or None when AWS would answer undefined."""
    if left is UNDEFINED or right is UNDEFINED:
        return None
    if _is_number(left) and _is_number(right):
        return left, right
    # AWS converts a numeric string when the other side is a number.
    if _is_number(left) and isinstance(right, str):
        num = _to_number(right)
        return None if num is None else (left, num)
    if isinstance(left, str) and _is_number(right):
        num = _to_number(left)
        return None if num is None else (num, right)
    if type(left) is type(right):
        return left, right
    return None


def _to_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "<>": lambda a, b: bool(a != b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _compare(op: str, left: _Expr, right: _Expr) -> _Expr:
    fn = _COMPARATORS[op]
    ordering = op in ("<", "<=", ">", ">=")

    def evaluate(ctx: _Context) -> Any:
        pair = _comparable(left(ctx), right(ctx))
        if pair is None:
            return UNDEFINED
        a, b = pair
        # Order only numbers and strings; objects, arrays, booleans and null have none.
        if ordering and not (_is_number(a) or isinstance(a, str)):
            return UNDEFINED
        return fn(a, b)

    return evaluate


def _logical(op: str, left: _Expr, right: _Expr) -> _Expr:
    def evaluate(ctx: _Context) -> Any:
        a, b = _as_bool(left(ctx)), _as_bool(right(ctx))
        if a is UNDEFINED or b is UNDEFINED:
            return UNDEFINED
        return (a and b) if op == "AND" else (a or b)

    return evaluate


def _negate(operand: _Expr) -> _Expr:
    def evaluate(ctx: _Context) -> Any:
        value = _as_bool(operand(ctx))
        return UNDEFINED if value is UNDEFINED else not value

    return evaluate


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, sql: str) -> None:
        self.tokens = _tokenize(sql)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, value: str | None = None) -> bool:
        return self.tok.kind == kind and (value is None or self.tok.value == value)

    def accept(self, kind: str, value: str | None = None) -> _Token | None:
        return self.advance() if self.at(kind, value) else None

    def expect(self, kind: str, value: str | None = None, what: str | None = None) -> _Token:
        if not self.at(kind, value):
            self.error(f"expected {what or value or kind}")
        return self.advance()

    def error(self, message: str) -> None:
        found = self.tok.value or "end of statement"
        raise RuleSqlError(f"{message} at position {self.tok.pos}, found {found!r}")

    # query := SELECT items FROM 'filter' [WHERE expr]
    def query(self) -> Rule:
        self.expect("keyword", "SELECT")
        items = [self.select_item()]
        while self.accept("punct", ","):
            items.append(self.select_item())
        self.expect("keyword", "FROM")
        topic_filter = self.expect("string", what="a quoted topic filter after FROM").value
        _check_filter(topic_filter)
        where = self.expr() if self.accept("keyword", "WHERE") else None
        if not self.at("eof"):
            self.error("unexpected text after the statement")
        return Rule(topic_filter=topic_filter, _items=tuple(items), _where=where)

    def select_item(self) -> _SelectItem:
        if self.accept("punct", "*"):
            return _SelectItem(None, None)
        start = self.tok
        expr, default_name = self.operand_with_name()
        if self.accept("keyword", "AS"):
            name = self.expect("ident", what="an alias after AS").value
        elif default_name is not None:
            name = default_name
        else:
            raise RuleSqlError(f"SELECT item at position {start.pos} needs an alias: add 'AS name'")
        return _SelectItem(expr, name)

    # expr := and_expr (OR and_expr)*
    def expr(self) -> _Expr:
        left = self.and_expr()
        while self.accept("keyword", "OR"):
            left = _logical("OR", left, self.and_expr())
        return left

    def and_expr(self) -> _Expr:
        left = self.not_expr()
        while self.accept("keyword", "AND"):
            left = _logical("AND", left, self.not_expr())
        return left

    def not_expr(self) -> _Expr:
        if self.accept("keyword", "NOT"):
            return _negate(self.not_expr())
        return self.comparison()

    def comparison(self) -> _Expr:
        left = self.operand()
        if self.at("op"):
            op = self.advance().value
            return _compare(op, left, self.operand())
        return left

    def operand(self) -> _Expr:
        if self.accept("punct", "("):
            inner = self.expr()
            self.expect("punct", ")")
            return inner
        return self.operand_with_name()[0]

    def operand_with_name(self) -> tuple[_Expr, str | None]:
        """A value expression and the name AWS gives it without an alias (paths only)."""
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return _const(tok.value), None
        if tok.kind == "number":
            self.advance()
            num = float(tok.value)
            return _const(int(num) if re.fullmatch(r"-?\d+", tok.value) else num), None
        if tok.kind == "keyword" and tok.value in ("TRUE", "FALSE"):
            self.advance()
            return _const(tok.value == "TRUE"), None
        if tok.kind == "ident":
            self.advance()
            if self.at("punct", "("):
                return self.function(tok), None
            segments = [tok.value]
            while self.accept("punct", "."):
                segments.append(self.expect("ident", what="a field name after '.'").value)
            return _path(tuple(segments)), segments[-1]
        self.error("expected a value (field, function, string or number)")
        raise AssertionError("unreachable")

    def function(self, name_tok: _Token) -> _Expr:
        name = name_tok.value.lower()
        self.expect("punct", "(")
        if name == "topic":
            if self.accept("punct", ")"):
                return lambda ctx: ctx.topic
            n = self.expect("number", what="a segment number in topic(n)").value
            if not n.isdigit() or int(n) < 1:
                raise RuleSqlError(f"topic(n) needs a positive whole number, got {n}")
            self.expect("punct", ")")
            return _topic_level(int(n))
        if name in ("timestamp", "clientid"):
            self.expect("punct", ")", what=f"')' ({name}() takes no arguments)")
            if name == "timestamp":
                return lambda ctx: ctx.now_ms
            return lambda ctx: ctx.client_id
        if name == "encode":
            self.expect("punct", "*", what="'*' (only encode(*, 'base64') is supported)")
            self.expect("punct", ",")
            encoding = self.expect("string", what="'base64'").value
            if encoding != "base64":
                raise RuleSqlError(f"encode() supports only 'base64', got {encoding!r}")
            self.expect("punct", ")")
            return _encode_payload_base64
        raise RuleSqlError(f"unsupported function {name_tok.value}() at position {name_tok.pos}")


# --------------------------------------------------------------------------- rule


@dataclass(frozen=True)
class Rule:
    """A parsed IoT rule: its topic filter, SELECT items and optional WHERE condition."""

    topic_filter: str
    _items: tuple[_SelectItem, ...] = field(repr=False)
    _where: _Expr | None = field(default=None, repr=False)

    def matches(self, topic: str) -> bool:
        """True when `topic` matches the rule's FROM filter."""
        return topic_matches(self.topic_filter, topic)

    def evaluate(
        self, topic: str, payload: bytes, client_id: str, now_ms: int
    ) -> dict[str, Any] | None:
        """The rule's output for one message, or None when it does not fire.

        Raises RuleEvaluationError when the payload cannot be evaluated, e.g. ``SELECT *``
        or a field path on a payload that is not JSON.
        """
        if not self.matches(topic):
            return None
        ctx = _Context(topic=topic, payload=payload, client_id=client_id, now_ms=now_ms)
        if self._where is not None and self._where(ctx) is not True:
            return None
        out: dict[str, Any] = {}
        for item in self._items:
            if item.expr is None:
                out.update(_merge_star(ctx))
                continue
            value = item.expr(ctx)
            if value is not UNDEFINED and item.name is not None:
                out[item.name] = value
        return out


def parse_rule(sql: str) -> Rule:
    """Parse an IoT rule's SQL; RuleSqlError explains what is invalid or unsupported."""
    if not sql or not sql.strip():
        raise RuleSqlError("rule SQL is empty")
    return _Parser(sql).query()
