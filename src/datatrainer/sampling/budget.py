"""`Budget`: how many records a sampler keeps, as a count, a fraction or a percentage.

Parsed exactly (`fractions.Fraction` on the decimal text), so "25%" of 10 records is 2 and 100% is always
every record, with no floating-point surprises. A fraction or percentage is rounded down: a budget is a
ceiling ("at most a quarter"), never exceeded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

from datatrainer.errors import DatatrainerError

_FORMS = "a count (1000), a fraction (0.25) or a percentage (25%)"
_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")


@dataclass(frozen=True)
class Budget:
    """`count` records, or `share` (0..1) of the records; exactly one is set. `text` is how it was written."""

    text: str
    count: int | None = None
    share: Fraction | None = None

    @classmethod
    def parse(cls, value: str | int | float | Budget) -> Budget:
        """"1000" is a count, "0.25" (a decimal point) a fraction, "25%" a percentage; 0 and 100% are allowed."""
        if isinstance(value, Budget):
            return value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise DatatrainerError(f"invalid budget {value!r}: expected {_FORMS}")
        if isinstance(value, float) and not math.isfinite(value):
            raise DatatrainerError(f"invalid budget {value!r}: expected {_FORMS}")
        text = str(value).strip()
        number = text[:-1].strip() if text.endswith("%") else text
        if number.startswith("-") and _NUMBER.fullmatch(number[1:]):
            raise DatatrainerError(f"invalid budget {text!r}: a budget cannot be negative")
        if not _NUMBER.fullmatch(number):
            raise DatatrainerError(f"invalid budget {text!r}: expected {_FORMS}")
        if text.endswith("%"):
            share = Fraction(number) / 100
        elif "." in number:
            share = Fraction(number)
        else:
            return cls(text, count=int(number))
        if share > 1:
            raise DatatrainerError(f"invalid budget {text!r}: a fraction or percentage cannot exceed 100%")
        return cls(text, share=share)

    def resolve(self, rows: int) -> int:
        """The number of records to keep out of `rows`; a count larger than `rows` is an error."""
        if self.share is not None:
            return math.floor(self.share * rows)
        assert self.count is not None
        if self.count > rows:
            raise DatatrainerError(f"budget {self.text!r} asks for {self.count:,} records but there are only "
                                   f"{rows:,}")
        return self.count

    def __str__(self) -> str:
        return self.text


def _parse_field(value: Any) -> Budget:
    try:
        return Budget.parse(value)
    except DatatrainerError as exc:
        # A custom error type, so the message is not prefixed with pydantic's "Value error, ".
        raise PydanticCustomError("invalid_budget", "{message}", {"message": str(exc)}) from None


BudgetField = Annotated[Budget, BeforeValidator(_parse_field), PlainSerializer(str, return_type=str)]
"""A `Budget` in a Pydantic parameter model: validated from text or a number, recorded as its text."""
