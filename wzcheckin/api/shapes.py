"""The API's shapes: every request body and every answer is a pydantic model, the one source the
routes validate with (:func:`parse_body`) and the OpenAPI document is generated from
(``wzcheckin.api.openapi``).

A request model refuses what it does not accept with the route's stable error codes: each field
names its own in its annotation (``Annotated[str, Refuse("invalid_mask", _l("mask: true or
false"))]``), a field's refusal may differ by the kind of mistake (``string_too_long``: another
code), and an unknown field is ``unknown_field``. Answers are described by :class:`Shape` models;
under test every answer a route gives is held to its model (:func:`check_answer`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import (
    BaseModel,
    ConfigDict,
    PlainValidator,
    RootModel,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from wzcheckin.core.api_errors import ApiError

__all__ = ["Day", "ErrorBody", "Instant", "PydanticCustomError", "QueryModel", "Refuse", "RequestModel",
           "ResponseShapeError", "Shape", "check_answer", "choice", "parse_body"]


@dataclass(frozen=True)
class Refuse:
    """How a request field is refused: a stable code (HTTP 422) and its message — a lazy string,
    or a callable giving the message at request time. ``by_type`` maps pydantic error types
    (``missing``, ``string_too_long``, a ``PydanticCustomError``'s own type) to another refusal."""

    code: str
    message: Any
    by_type: Mapping[str, Refuse] = field(default_factory=dict)

    def for_type(self, error_type: str) -> Refuse:
        return self.by_type.get(error_type, self)

    def text(self) -> str:
        return str(self.message() if callable(self.message) else self.message)


class RequestModel(BaseModel):
    """A request body. Strict (JSON types as they are: ``true`` is not 1, ``"5"`` is not 5) and
    closed (an unknown field is refused, not ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Field name → its Refuse (from the field's annotation); built once per model.
    _refusals: ClassVar[dict[str, Refuse]] = {}
    # A field with no Refuse of its own is refused with this.
    default_refusal: ClassVar[Refuse] = Refuse("invalid", _l("Some values are not valid."))

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs):
        super().__pydantic_init_subclass__(**kwargs)
        cls._refusals = {name: next((m for m in info.metadata if isinstance(m, Refuse)), cls.default_refusal)
                         for name, info in cls.model_fields.items()}

    @classmethod
    def refusal(cls, error: ValidationError) -> ApiError:
        """The one refusal for an invalid body: unknown fields first (all named), then the first
        field in declaration order that is wrong — as the hand-written checks answered."""
        errors = error.errors(include_url=False, include_context=False, include_input=False)
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        if unknown:
            return ApiError(422, "unknown_field", _("Unknown field(s): %(fields)s", fields=", ".join(unknown)))
        order = list(cls.model_fields)
        first = min(errors, key=lambda e: order.index(e["loc"][0]) if e["loc"] and e["loc"][0] in order
                    else len(order))
        name = first["loc"][0] if first["loc"] else None
        refuse = cls._refusals.get(name, cls.default_refusal).for_type(first["type"])
        return ApiError(422, refuse.code, refuse.text())


class QueryModel(RequestModel):
    """A route's query parameters (strings as sent). An unknown parameter is ignored, as HTTP
    servers do; a bad value of a known one is refused with its field's code."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


def choice(values, refuse: Refuse):
    """A query filter that must be one of ``values``; absent or blank (what a form's "all" sends)
    is no filter (``None``)."""
    allowed = tuple(str(value) for value in values)

    def one_of(value: Any) -> str | None:
        if value is None or value == "":
            return None
        if value not in allowed:
            raise PydanticCustomError("choice", "not one of the choices")
        return value

    return Annotated[str | None, PlainValidator(one_of, json_schema_input_type=Literal[(*allowed, "")]), refuse]


M = TypeVar("M", bound=RequestModel)


def parse_body(model: type[M], data: Any) -> M:
    """``data`` (a parsed JSON object) as ``model``, or the model's 422 ApiError. The model's
    validator is built once, when its class is defined: nothing is built per request."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise model.refusal(error) from None


class Shape(BaseModel):
    """An answer's shape. Open to clients (a new key may be added later), but under test an
    answer may hold only what its model names (:func:`check_answer`)."""

    model_config = ConfigDict(extra="ignore")


# Times in answers, as the views write them (``isoformat()``, local or UTC offset kept as is).
Instant = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


class ErrorDetail(Shape):
    model_config = ConfigDict(extra="allow")  # some refusals add details (fields, codes, until, limit, lines)

    code: str
    message: str


class ErrorBody(Shape):
    """Every refusal: ``{"error": {"code", "message"}}``; the code is stable, the message in the
    caller's language."""

    error: ErrorDetail


class CsvText(RootModel[str]):
    """A CSV file (text/csv, UTF-8)."""


class ResponseShapeError(AssertionError):
    """An answer that is not what its model says (raised under test only)."""


_ADAPTERS: dict[type[BaseModel], TypeAdapter] = {}


def check_answer(model: type[BaseModel], raw: bytes) -> None:
    """Hold an answer to its model: it validates, and dumping what was validated gives back the
    answer itself — no key the model does not name, no value it had to coerce."""
    adapter = _ADAPTERS.setdefault(model, TypeAdapter(model))
    try:
        value = adapter.validate_json(raw)
    except ValidationError as error:
        raise ResponseShapeError(f"the answer is not a {model.__name__}: {error}") from None
    original = json.loads(raw)
    dumped = adapter.dump_python(value, mode="json", exclude_unset=True)
    if dumped != original:
        raise ResponseShapeError(f"the answer holds more than, or other than, a {model.__name__}: "
                                 f"{_difference(original, dumped)}")


def _difference(original: Any, dumped: Any, path: str = "") -> str:
    if isinstance(original, dict) and isinstance(dumped, dict):
        extra = sorted(set(original) - set(dumped))
        if extra:
            return f"undocumented key(s) {extra} at {path or '/'}"
        for key in original:
            if original[key] != dumped.get(key):
                return _difference(original[key], dumped.get(key), f"{path}/{key}")
    if isinstance(original, list) and isinstance(dumped, list) and len(original) == len(dumped):
        for index, (a, b) in enumerate(zip(original, dumped, strict=True)):
            if a != b:
                return _difference(a, b, f"{path}/{index}")
    return f"{original!r} became {dumped!r} at {path or '/'}"

