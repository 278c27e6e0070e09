"""Real servers on 127.0.0.1 for tests: serve one in a thread for as long as the generator runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any


def serve(server: Any) -> Iterator[int]:
    """Yield the port of `server` (a socketserver) while it serves; shut it down afterwards."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
