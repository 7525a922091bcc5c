"""The writer's side of the manifest: what is published, and changes to it in one atomic write.

File numbers (journals, segments, parts) come from one counter that is never reused, even
for files that were retired but may still be on disk for readers in flight.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from okta_alerts.store.manifest import FileEntry, Manifest, Retired, read_manifest, write_manifest


class Catalog:
    """The published manifest of one events directory, owned by its writer."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest = read_manifest(root)
        self._last = self.next_free_seq() - 1  # the last file number handed out
        self._numbers = threading.Lock()  # journals (committer) and parts (sealer) share them

    def take_number(self) -> int:
        """A new file number, never used before (thread-safe)."""
        with self._numbers:
            self._last += 1
            return self._last

    def skip_used_numbers(self) -> None:
        """Move past every number on disk (after recovery found files of a crashed run)."""
        with self._numbers:
            self._last = max(self._last, self.next_free_seq() - 1)

    def listed_paths(self) -> set[str]:
        """Every file the manifest knows, published or retired (relative paths)."""
        return {f.path for f in self.manifest.files} | {r.path for r in self.manifest.retired}

    def next_free_seq(self) -> int:
        """A number no journal, segment or part has used, listed or retired."""
        seqs = [int(Path(name).stem.rsplit("-", 1)[-1]) for name in self.listed_paths()]
        seqs += [int(p.stem) for p in (self.root / "journal").glob("*.ndjson")]
        return max([*seqs, self.manifest.next_seq - 1]) + 1

    def entry(
        self, relative: str, kind: str, rows: int, low: datetime, high: datetime, level: int = 0
    ) -> FileEntry:
        """The manifest entry of a finished file under the events directory."""
        return FileEntry(
            path=relative,
            kind=kind,
            rows=int(rows),
            bytes=(self.root / relative).stat().st_size,
            min_published=low.isoformat(),
            max_published=high.isoformat(),
            created_at=datetime.now(UTC).isoformat(),
            level=level,
        )

    def commit(
        self,
        add: list[FileEntry],
        drop: list[FileEntry],
        sealed_through: int | None = None,
        expired: int = 0,
    ) -> None:
        """Publish ``add`` and retire ``drop`` in one manifest write; ``sealed_through`` is the
        journal just sealed, ``expired`` the events past the retention left out."""
        dropped = {f.path for f in drop}
        now = time.time()
        self._write(
            files=[f for f in self.manifest.files if f.path not in dropped] + add,
            retired=self.manifest.retired + [Retired(p, now) for p in sorted(dropped)],
            sealed_through=sealed_through,
            expired=expired,
        )

    def delete_retired(self, grace_seconds: float) -> None:
        """Delete retired files older than the grace period, and forget them."""
        horizon = time.time() - grace_seconds
        due = [r for r in self.manifest.retired if r.retired_at <= horizon]
        if not due:
            return
        for retired in due:
            (self.root / retired.path).unlink(missing_ok=True)
        self._write(self.manifest.files, [r for r in self.manifest.retired if r not in due])

    def _write(
        self,
        files: list[FileEntry],
        retired: list[Retired],
        sealed_through: int | None = None,
        expired: int = 0,
    ) -> None:
        manifest = Manifest(
            generation=self.manifest.generation,
            files=files,
            retired=retired,
            next_seq=max(self.manifest.next_seq, self._last + 1),
            sealed_through=max(self.manifest.sealed_through, sealed_through or 0),
            expired_events=self.manifest.expired_events + expired,
        )
        write_manifest(self.root, manifest)
        self.manifest = manifest
