"""OData pieces of the Dataverse emulator: ``$filter`` (parse + evaluate), key segments, ``$expand``.

The ``$filter`` grammar covers what Dataverse documents for the Web API: ``eq ne gt ge lt le``,
``and or not``, parentheses, ``contains/startswith/endswith``, string literals with doubled quotes, numbers,
``true``,
``false``, ``null`` and GUIDs (quoted or not). String comparison is case-insensitive, as in Dataverse.
Anything else raises ``ODataError`` (a 400 in Dataverse's error shape).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["ODataError", "Predicate", "parse_expand", "parse_filter", "parse_key_segment", "parse_orderby"]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_./]*))"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}


class ODataError(Exception):
    def __init__(self, message: str, code: str = "0x0", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


Row = dict[str, Any]
Predicate = Callable[[Row], bool]


@dataclass
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ODataError(f"Syntax error at position {position} in '{text}'.")
        kind = match.lastgroup or ""
        tokens.append(_Tok(kind, match.group(kind)))
        position = match.end()
    return tokens


def _literal(tok: _Tok) -> Any:
    if tok.kind == "str":
        return tok.text[1:-1].replace("''", "'")
    if tok.kind == "guid":
        return tok.text.lower()
    if tok.kind == "num":
        return float(tok.text) if "." in tok.text else int(tok.text)
    if tok.kind == "word" and tok.text in ("true", "false"):
        return tok.text == "true"
    if tok.kind == "word" and tok.text == "null":
        return None
    raise ODataError(f"Expected a literal but found '{tok.text}'.")


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        # Dates compare as dates, everything else case-insensitively.
        if re.match(r"^\d{4}-\d{2}-\d{2}T", value):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
        return value.lower()
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("eq", "ne"):
        equal = _comparable(left) == _comparable(right)
        return equal if op == "eq" else not equal
    if left is None or right is None:
        return False
    a, b = _comparable(left), _comparable(right)
    try:
        return bool({"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op])
    except TypeError as exc:
        raise ODataError(f"Cannot compare {left!r} with {right!r} using '{op}'.") from exc


class _Parser:
    def __init__(
        self, text: str, check_property: Callable[[str], None], operators: frozenset[str] | None
    ) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.check_property = check_property
        self.operators = operators

    def allow(self, operator: str) -> None:
        if self.operators is not None and operator not in self.operators:
            raise ODataError(
                f"The operator or function '{operator}' is not supported in this query; supported: "
                + ", ".join(sorted(self.operators))
                + "."
            )

    def peek(self) -> _Tok | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ODataError("Unexpected end of the $filter expression.")
        self.position += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise ODataError(f"Expected '{text}' but found '{tok.text}'.")

    def parse(self) -> Predicate:
        predicate = self.or_expr()
        if self.peek() is not None:
            raise ODataError(f"Syntax error: unexpected '{self.peek().text}'.")  # type: ignore[union-attr]
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.text == "or":
            self.allow("or")
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while (tok := self.peek()) is not None and tok.text == "and":
            self.allow("and")
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def not_expr(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok.text == "not":
            self.allow("not")
            self.take()
            inner = self.not_expr()
            return lambda row: not inner(row)
        return self.primary()

    def primary(self) -> Predicate:
        tok = self.take()
        if tok.text == "(":
            inner = self.or_expr()
            self.expect(")")
            return inner
        if tok.kind != "word":
            raise ODataError(f"Syntax error: a property or function was expected, found '{tok.text}'.")
        if tok.text in _FUNCTIONS:
            self.allow(tok.text)
            return self.function(tok.text)
        self.check_property(tok.text)
        op = self.take().text
        if op not in _COMPARE:
            raise ODataError(f"Syntax error: unknown operator '{op}'.")
        self.allow(op)
        value = self.value()
        name = tok.text
        return lambda row: _compare(op, row.get(name), value)

    def value(self) -> Any:
        """A literal, or an enum member ``Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'`` (its name)."""
        tok = self.take()
        following = self.peek()
        enum = tok.kind == "word" and tok.text.startswith("Microsoft.Dynamics.CRM.")
        if enum and following is not None and following.kind == "str":
            self.take()
            return _literal(following)
        return _literal(tok)

    def function(self, name: str) -> Predicate:
        self.expect("(")
        prop = self.take()
        if prop.kind != "word":
            raise ODataError(f"The first argument of {name} must be a property.")
        self.check_property(prop.text)
        self.expect(",")
        value = _literal(self.take())
        self.expect(")")
        if not isinstance(value, str):
            raise ODataError(f"The second argument of {name} must be a string.")
        needle = value.lower()

        def test(row: Row) -> bool:
            haystack = row.get(prop.text)
            if not isinstance(haystack, str):
                return False
            text = haystack.lower()
            return {
                "contains": needle in text,
                "startswith": text.startswith(needle),
                "endswith": text.endswith(needle),
            }[name]

        return test


def parse_filter(
    text: str, check_property: Callable[[str], None], *, operators: frozenset[str] | None = None
) -> Predicate:
    """Compile a ``$filter`` expression; ``check_property`` raises ``ODataError`` for unknown names.

    ``operators`` limits the comparison/logical operators and functions (metadata queries allow fewer).
    """
    return _Parser(text, check_property, operators).parse()


def parse_orderby(text: str, check_property: Callable[[str], None]) -> list[tuple[str, bool]]:
    """``name1 desc,name2`` -> ``[("name1", True), ("name2", False)]`` (True = descending)."""
    order: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ODataError(f"Syntax error in $orderby: '{part.strip()}'.")
        check_property(words[0])
        order.append((words[0], len(words) == 2 and words[1] == "desc"))
    return order


_KEY_PART = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?|[0-9a-fA-F-]{36})\s*(,|$)"
)


def parse_key_segment(inner: str) -> dict[str, Any] | str:
    """The text inside ``set(...)``: a bare GUID (primary key) or ``name='v'[,name2=3]`` (alternate key)."""
    inner = inner.strip()
    if re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", inner):
        return inner.lower()
    values: dict[str, Any] = {}
    position = 0
    while position < len(inner):
        match = _KEY_PART.match(inner, position)
        if not match:
            raise ODataError(f"Bad key segment '({inner})': expected name='value' pairs.")
        raw = match.group(2)
        values[match.group(1)] = (
            raw[1:-1].replace("''", "'") if raw.startswith("'") else _literal(_tokens(raw)[0])
        )
        position = match.end()
    if not values:
        raise ODataError("Empty key segment '()'.")
    return values


def parse_expand(text: str) -> dict[str, list[str] | None]:
    """``nav1($select=a,b),nav2`` -> ``{"nav1": ["a", "b"], "nav2": None}``; only ``$select`` inside."""
    result: dict[str, list[str] | None] = {}
    depth = 0
    current = ""
    parts: list[str] = []
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    for part in parts:
        match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*", part)
        if not match:
            raise ODataError(f"Syntax error in $expand: '{part}'.")
        options = match.group(2)
        if options is None:
            result[match.group(1)] = None
            continue
        select = re.fullmatch(r"\$select=([A-Za-z0-9_,]+)", options.strip())
        if not select:
            raise ODataError(f"Only $select is supported inside $expand, got '{options}'.")
        result[match.group(1)] = select.group(1).split(",")
    return result
