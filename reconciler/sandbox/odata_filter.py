"""OData v4 ``$filter`` lexer and parser, shared by both emulated services.

It produces a small AST; what a property, function or enum literal *means* is decided later
by each service's dialect (odata_eval.py), because F&O and Dataverse differ there. Literal
lexing is also what key segments (keys.py) use.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeAlias

COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
ARITHMETIC_ADD = frozenset({"add", "sub"})
ARITHMETIC_MUL = frozenset({"mul", "div", "divby", "mod"})
_KEYWORDS = COMPARISONS | ARITHMETIC_ADD | ARITHMETIC_MUL | {"and", "or", "not"}


class FilterSyntaxError(ValueError):
    """Malformed expression; the message follows Microsoft.OData's wording."""

    def __init__(self, text: str, position: int) -> None:
        super().__init__(f"Syntax error at position {position} in '{text}'.")
        self.position = position


@dataclass(frozen=True)
class EnumValue:
    """``Namespace.Type'Member'``: only F&O gives it meaning."""

    type_name: str
    member: str


LiteralValue: TypeAlias = str | int | float | bool | datetime | date | uuid.UUID | EnumValue | None


@dataclass(frozen=True)
class Literal:
    value: LiteralValue


@dataclass(frozen=True)
class Property:
    name: str


@dataclass(frozen=True)
class ListValue:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call:
    """A function call; ``named`` holds ``Name=value`` arguments (Dataverse query functions)."""

    name: str
    args: tuple[Node, ...]
    named: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Binary:
    """``and``/``or``, a comparison, or arithmetic."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node: TypeAlias = Literal | Property | ListValue | Call | Binary | Not


@dataclass(frozen=True)
class Token:
    kind: str  # literal, ident, punct, end
    text: str
    position: int
    value: LiteralValue = None


_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_STRING = re.compile(r"'(?:[^']|'')*'")
_IDENT = re.compile(r"[A-Za-z_$@][\w.$/@]*")
_IDENT_CHAR = re.compile(r"[\w]")
_PUNCT = "(),=[]"


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _parse_number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _standalone(text: str, end: int) -> bool:
    """A GUID/number/date literal must not run into an identifier character."""
    return end >= len(text) or not _IDENT_CHAR.match(text[end])


def _lex_literal(text: str, pos: int) -> Token | None:
    """Typed literal at ``pos`` (GUID before date before number: they share prefixes)."""
    for pattern, convert in (
        (_GUID, uuid.UUID),
        (_DATETIME, _parse_datetime),
        (_DATE, date.fromisoformat),
        (_NUMBER, _parse_number),
    ):
        match = pattern.match(text, pos)
        if match and _standalone(text, match.end()):
            return Token("literal", match.group(), pos, convert(match.group()))
    match = _STRING.match(text, pos)
    if match:
        return Token("literal", match.group(), pos, _unquote(match.group()))
    return None


def _lex_word(text: str, pos: int) -> Token:
    match = _IDENT.match(text, pos)
    if not match:
        raise FilterSyntaxError(text, pos)
    word = match.group()
    quoted = _STRING.match(text, match.end())
    if quoted and "." in word:
        type_name, member = word, _unquote(quoted.group())
        end = quoted.end()
        return Token("literal", text[pos:end], pos, EnumValue(type_name, member))
    if quoted:
        raise FilterSyntaxError(text, match.end())
    constants: dict[str, LiteralValue] = {"true": True, "false": False, "null": None}
    if word in constants:
        return Token("literal", word, pos, constants[word])
    return Token("ident", word, pos)


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; whitespace only separates."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char in _PUNCT:
            tokens.append(Token("punct", char, pos))
            pos += 1
            continue
        token = _lex_literal(text, pos) or _lex_word(text, pos)
        tokens.append(token)
        pos += len(token.text)
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent, OData precedence: or < and < not < comparison < add < mul."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def fail(self) -> FilterSyntaxError:
        return FilterSyntaxError(self.text, self.current.position)

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def at_keyword(self, words: frozenset[str] | set[str]) -> bool:
        return self.current.kind == "ident" and self.current.text in words

    def expect(self, punct: str) -> None:
        if self.current.kind != "punct" or self.current.text != punct:
            raise self.fail()
        self.advance()

    def parse(self) -> Node:
        node = self.parse_or()
        if self.current.kind != "end":
            raise self.fail()
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.at_keyword({"or"}):
            self.advance()
            node = Binary("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.at_keyword({"and"}):
            self.advance()
            node = Binary("and", node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.at_keyword({"not"}):
            self.advance()
            return Not(self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        node = self.parse_additive()
        if self.at_keyword(COMPARISONS):
            op = self.advance().text
            node = Binary(op, node, self.parse_additive())
        return node

    def parse_additive(self) -> Node:
        node = self.parse_multiplicative()
        while self.at_keyword(ARITHMETIC_ADD):
            op = self.advance().text
            node = Binary(op, node, self.parse_multiplicative())
        return node

    def parse_multiplicative(self) -> Node:
        node = self.parse_primary()
        while self.at_keyword(ARITHMETIC_MUL):
            op = self.advance().text
            node = Binary(op, node, self.parse_primary())
        return node

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind == "literal":
            self.advance()
            return Literal(token.value)
        if token.kind == "punct" and token.text == "(":
            self.advance()
            node = self.parse_or()
            self.expect(")")
            return node
        if token.kind == "punct" and token.text == "[":
            return self.parse_list()
        if token.kind == "ident" and token.text not in _KEYWORDS:
            self.advance()
            if self.current.kind == "punct" and self.current.text == "(":
                return self.parse_call(token.text)
            return Property(token.text)
        raise self.fail()

    def parse_list(self) -> ListValue:
        self.expect("[")
        items: list[Node] = []
        while not (self.current.kind == "punct" and self.current.text == "]"):
            items.append(self.parse_primary())
            if self.current.kind == "punct" and self.current.text == ",":
                self.advance()
        self.expect("]")
        return ListValue(tuple(items))

    def parse_call(self, name: str) -> Call:
        self.expect("(")
        args: list[Node] = []
        named: list[tuple[str, Node]] = []
        while not (self.current.kind == "punct" and self.current.text == ")"):
            following = self.tokens[self.index + 1]
            if self.current.kind == "ident" and following.text == "=" and following.kind == "punct":
                arg_name = self.advance().text
                self.advance()
                named.append((arg_name, self.parse_or()))
            else:
                args.append(self.parse_or())
            if self.current.kind == "punct" and self.current.text == ",":
                self.advance()
            elif not (self.current.kind == "punct" and self.current.text == ")"):
                raise self.fail()
        self.expect(")")
        return Call(name, tuple(args), tuple(named))


def parse_filter(text: str) -> Node:
    """Parse a ``$filter`` value (already URL-decoded)."""
    if not text.strip():
        raise FilterSyntaxError(text, 0)
    return _Parser(text).parse()


def properties_of(node: Node) -> list[str]:
    """Every property an expression reads, in order (for validation against the schema)."""
    if isinstance(node, Property):
        return [node.name]
    if isinstance(node, Binary):
        return properties_of(node.left) + properties_of(node.right)
    if isinstance(node, Not):
        return properties_of(node.operand)
    if isinstance(node, Call):
        children = [*node.args, *(value for _, value in node.named)]
        return [name for child in children for name in properties_of(child)]
    if isinstance(node, ListValue):
        return [name for item in node.items for name in properties_of(item)]
    return []
