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
