"""Reading the cells of the field's exports: numbers as their files write them."""

from __future__ import annotations

from streams.errors import InvalidEvent


def whole_number(text: str, column: str) -> int:
    """A cell as a whole number (``17``, or ``17.0`` as spreadsheets and APIs write it); raises
    InvalidEvent naming ``column``."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
        if value.is_integer():
            return int(value)
    except (ValueError, OverflowError):
        pass
    raise InvalidEvent(f"expected a whole number, got {text!r}", column)


__all__ = ["whole_number"]
