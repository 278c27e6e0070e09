"""An instance's business records: in memory, appended to a JSON-lines file, identified by unique ids."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import IO, Any

Record = dict[str, Any]  # id, ts (Unix epoch, commit time at the writing site), origin, kind, key, body


class Store:
    def __init__(self, path: Path, site: str) -> None:
        self.path = path
        self.site = site
        self.records: list[Record] = []
        self._by_id: dict[str, Record] = {}
        self._by_key: dict[str, Record] = {}
        self._counter = 0
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._add(json.loads(line))
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def _add(self, rec: Record) -> None:
        self.records.append(rec)
        self._by_id[rec["id"]] = rec
        self._by_key[rec["key"]] = rec
        if rec["id"].startswith(self.site[0]):
            self._counter = max(self._counter, int(rec["id"][1:]))

    def _persist(self, rec: Record) -> None:
        self._add(rec)
        self._file.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()

    def create(self, kind: str, key: str | None, body: str, ts: float | None = None) -> Record:
        """A new record committed at this site."""
        self._counter += 1
        rid = f"{self.site[0]}{self._counter:07d}"
        rec = {
            "id": rid,
            "ts": time.time() if ts is None else ts,
            "origin": self.site,
            "kind": kind,
            "key": key or rid,
            "body": body,
        }
        self._persist(rec)
        return rec

    def apply(self, rec: Record) -> bool:
        """A replicated record; False when it is already here."""
        if rec["id"] in self._by_id:
            return False
        self._persist(rec)
        return True

    def get(self, key: str) -> Record | None:
        return self._by_key.get(key) or self._by_id.get(key)

    def has(self, rid: str) -> bool:
        return rid in self._by_id

    def ids(self) -> list[str]:
        return list(self._by_id)

    def newest(self, origin: str | None = None) -> float | None:
        """Commit time of the newest record (written at `origin`, when given)."""
        stamps = [r["ts"] for r in self.records if origin is None or r["origin"] == origin]
        return max(stamps) if stamps else None

    def digest(self) -> str:
        return hashlib.sha256("\n".join(sorted(self._by_id)).encode()).hexdigest()

    def close(self) -> None:
        self._file.close()
