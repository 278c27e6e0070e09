"""The one question a person is being asked at the terminal, so that progress lines printed meanwhile
(by parallel steps) do not bury it: whoever prints a line calls `reprompt()`, which writes the
question again below it."""

from __future__ import annotations

import threading
from typing import TextIO

_lock = threading.Lock()
_question: tuple[str, TextIO] | None = None


def asking(text: str | None, stream: TextIO | None = None) -> None:
    """Set (or with None clear) the question waiting for an answer and the stream it is shown on."""
    global _question
    with _lock:
        _question = (text, stream) if text is not None and stream is not None else None


def reprompt() -> None:
    """Show the waiting question again (after another line was printed above it)."""
    with _lock:
        if _question is not None:
            text, stream = _question
            stream.write(text)
            stream.flush()
