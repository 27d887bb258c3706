"""Pydantic (v2) types for pointkit's results, so FastAPI response models and OpenAPI just work.

``PointkitModel[Balance]`` is a Pydantic type for :class:`~pointkit.Balance`: it serialises
with :func:`pointkit.jsonable.dump`, validates with :func:`pointkit.jsonable.load`, and its JSON
Schema is :func:`pointkit.jsonable.schema` — the same form everywhere.

>>> from pydantic import TypeAdapter
>>> from pointkit import Money
>>> adapter = TypeAdapter(PointkitModel[Money])
>>> adapter.dump_python(Money("12.50", "CNY"), mode="json")
'12.50 CNY'
>>> adapter.validate_python("12.50 CNY")
Money(amount=Decimal('12.50'), currency=MoneyCurrency(code='CNY', decimals=2))

In FastAPI, name it as the response model::

    @app.get("/members/{member}/balance", response_model=PointkitModel[Balance])
    def balance(member: str) -> Balance: ...

Install with ``pip install 'pointkit[pydantic]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, final

from pydantic_core import core_schema

from pointkit import jsonable


if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue


__all__ = ["PointkitModel"]

_T = TypeVar("_T")


@final
class _Schema:
    """The Pydantic hooks of one pointkit type."""

    def __init__(self, kind: type) -> None:
        self.kind = kind

    def __get_pydantic_core_schema__(
        self,
        source: Any,  # noqa: ANN401 - Pydantic's protocol
        handler: GetCoreSchemaHandler,
    ) -> core_schema.CoreSchema:
        kind = self.kind

        def validate(value: object) -> object:
            return value if isinstance(value, kind) else jsonable.load(kind, value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                jsonable.dump, when_used="always"
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = jsonable.schema(self.kind, refs=False)
        document.pop("$schema", None)
        return document

    def __repr__(self) -> str:
        return f"PointkitModel[{self.kind.__name__}]"


class PointkitModel(Generic[_T]):
    """``PointkitModel[T]``: the pointkit type *T* as a Pydantic type (see the module)."""

    def __class_getitem__(cls, kind: Any) -> Any:  # noqa: ANN401 - returns a typing form
        if not isinstance(kind, type):
            return super().__class_getitem__(kind)  # type: ignore[misc]  # a TypeVar: generic use
        return Annotated[kind, _Schema(kind)]
