"""What the stream podfix writes to can show: colour and width. One place decides, for every command.

* Colour only on a terminal, and not when ``NO_COLOR`` is set (to anything but "", per no-color.org)
  or ``TERM=dumb``. Piped output never has escape codes.
* Width: a terminal's columns (``COLUMNS`` when set, as ``shutil.get_terminal_size`` does; else the
  terminal's own size), or ``None`` for a pipe or file. Renderers wrap paragraphs at
  ``paragraph_width(width)``: the terminal's width up to ``PARAGRAPH_MAX`` (long lines are hard to
  read), or a stable ``PIPED_WIDTH`` when piped, so saved output does not depend on the terminal
  it was made in. Table rows are cut to a terminal's width and never when piped, like kubectl.
"""

from __future__ import annotations

import os
import re
from typing import Any

PARAGRAPH_MAX = 120  # paragraphs never wrap wider than this, however wide the terminal
PIPED_WIDTH = 100  # paragraphs of piped output wrap here, whatever terminal it came from
DEFAULT_WIDTH = 80  # a terminal that does not say its size


def isatty(stream: Any) -> bool:
    try:
        return bool(getattr(stream, "isatty", lambda: False)())
    except (ValueError, OSError):  # a closed stream
        return False


def use_color(stream: Any) -> bool:
    """Whether to colour what goes to ``stream``: a terminal, no NO_COLOR, TERM is not "dumb"."""
    if os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    return isatty(stream)


def terminal_width(stream: Any) -> int | None:
    """Columns of the terminal ``stream`` writes to; None when it is not a terminal (a pipe or a file)."""
    if not isatty(stream):
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        size = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        size = 0
    return size if size > 0 else DEFAULT_WIDTH


def paragraph_width(width: int | None) -> int:
    """Where paragraphs wrap for a stream of ``width`` columns (None: piped)."""
    return PIPED_WIDTH if width is None else max(20, min(width, PARAGRAPH_MAX))


# -- control characters --------------------------------------------------------------------------
# What podfix itself writes to a terminal: its colours (SGR 0, 1, 2, 31, 32, 33, 36) and the progress
# line's "\r" + erase-line. Anything else that is a control character came from data (an event message,
# a container's waiting message, a name in a -f file, a server's error text) and is shown escaped, as
# kubectl's printers do (ESC as ^[, CR as \r): a value must never drive the terminal (move the cursor,
# clear the screen, set the title, write the clipboard, hide text, forge an OSC 8 link).
_CONTROL = re.compile(r"\r\x1b\[K|\x1b\[(?:0|1|2|31|32|33|36)m|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\r":
        return "\\r"
    if code < 0x20:
        return "^" + chr(code + 0x40)  # ESC -> ^[, BEL -> ^G: caret notation, as kubectl and cat -v
    if code == 0x7F:
        return "^?"
    return f"\\u{code:04x}"  # C1 controls (U+009B is a CSI on some terminals)


def escape_controls(text: str, *, own: bool = False) -> str:
    """``text`` with every control character but newline and tab escaped; with ``own`` (a terminal podfix
    writes to) podfix's own colour and progress sequences are kept."""
    def sub(match: re.Match) -> str:
        found = match.group(0)
        if len(found) > 1:
            return found if own else "".join(_escape(c) if c in "\r\x1b" else c for c in found)
        return _escape(found)

    return _CONTROL.sub(sub, text)


class ControlSafe:
    """A text stream that escapes control characters on their way out (``escape_controls``).

    ``main`` puts stdout and stderr behind it, so every line podfix prints passes here, whatever module
    wrote it. ``own`` sequences pass only to a terminal (podfix writes them nowhere else). There is no
    ``buffer``: click would write to it directly, around this filter."""

    def __init__(self, stream: Any):
        self._stream = stream
        self._own = isatty(stream) and os.environ.get("TERM") != "dumb"

    def write(self, text: Any) -> int:
        if not isinstance(text, str):
            return self._stream.write(text)  # bytes to a text stream: its own TypeError
        self._stream.write(escape_controls(text, own=self._own))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self._stream, name)
