"""Text encoding checks shared by the readers, with messages that say how to fix the input."""

from __future__ import annotations

import codecs

from datatrainer.errors import InputError

_FOREIGN_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


def check_bom(location: str, head: bytes, encoding: str) -> bytes:
    """Strip a UTF-8 byte-order mark; refuse UTF-16/32 input, whose newlines are not single bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return head[len(codecs.BOM_UTF8):]
    for bom, name in _FOREIGN_BOMS.items():
        if head.startswith(bom):
            raise InputError(
                location, f"the file is {name}-encoded; convert it to UTF-8 (e.g. iconv -f {name} -t UTF-8)"
            )
    return head


def check_encoding(location: str, encoding: str, *, line_based: bool) -> None:
    """Refuse unknown encodings up front, and for line-based formats those that do not encode a newline as
    the single byte 0x0a (UTF-16/32): the readers cut their input at newline bytes."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(location, f"unknown encoding {encoding!r}") from None
    if line_based and "\n".encode(encoding) != b"\n":
        raise InputError(location, f"encoding {encoding!r} is not supported for this format; "
                                   f"convert the file to UTF-8 (e.g. iconv -f {encoding} -t UTF-8)")


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def first_invalid_utf8(data: bytes) -> str | None:
    """Describe the first byte that is not valid UTF-8, or None when the data is valid."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start} of the line); "
            "pass --encoding if the file uses another encoding, e.g. --encoding latin-1"
        )
    return None
