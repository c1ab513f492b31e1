"""Regular expressions for the text the API accepts, written so that they mean the same in Python (which
validates requests) and in ECMA-262 (the dialect of JSON Schema ``pattern``, which clients and the API's own
property tests read): explicit character classes instead of ``\\s``/``\\S``, whose sets differ between the
two, and an end anchor that refuses the trailing newline Python's ``$`` lets through.
"""

from __future__ import annotations

from typing import Final

CONTROL: Final = r"\x00-\x1f\x7f-\x9f"
"""C0 and C1 control characters, NUL included (PostgreSQL cannot store NUL in text)."""
SPACE: Final = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
"""Whitespace that is not a control character: every character Python's ``str.strip`` removes, and the
byte-order mark, which ECMA-262 counts as whitespace."""
END: Final = r"$(?!\n)"


def whole(body: str) -> str:
    """A pattern that ``body`` must match as a whole (``re.search`` and JSON Schema both search)."""
    return f"^(?:{body}){END}"


PLAIN_TEXT: Final = whole(f"[^{CONTROL}]*")
"""Text without control characters."""
LABEL: Final = whole(f"[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*")
"""Text without control characters that is not blank: a keyword, a name."""
