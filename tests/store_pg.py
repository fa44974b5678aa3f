"""A throwaway PostgreSQL cluster for tests: Debian's server binaries, a temporary data
directory, a free loopback port, run as the ``postgres`` user (PostgreSQL refuses root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "s3cret-pg-pw"


def find_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding initdb and pg_ctl, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0)
    for d in reversed(dirs):
        if (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file():
            return Path(d)
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found and shutil.which("initdb") else None


@dataclass
class PgCluster:
    """A running cluster; ``url(db)`` gives a psycopg URL for one of its databases."""

    bin_dir: Path
    data_dir: Path
    port: int
    user: str | None  # the OS user it runs as (None = the current one)

    def url(self, database: str = "postgres", *, password: str = PASSWORD) -> str:
        return f"postgresql+psycopg://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             password=PASSWORD, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        pwfile = self.data_dir.parent / "pw"
        pwfile.write_text(PASSWORD + "\n")
        self._chown(self.data_dir.parent)
        init = self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "-E", "UTF8",
                         "--locale=C", "--auth=scram-sha-256", f"--pwfile={pwfile}",
                         "--no-sync")
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
        self._start_server()

    def _start_server(self) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir.parent} "
                "-c fsync=off -c full_page_writes=off -c max_connections=60")
        start = self._run("pg_ctl", "-D", str(self.data_dir), "-o", opts, "-l",
                          str(self.data_dir.parent / "server.log"), "-w", "-t", "60", "start")
        if start.returncode != 0:
            log = (self.data_dir.parent / "server.log")
            raise RuntimeError(f"pg_ctl start failed: {start.stderr.strip()} "
                               f"{log.read_text()[-500:] if log.exists() else ''}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        """Start again on the same port after :meth:`stop` (the data is kept)."""
        self._start_server()

    def _chown(self, path: Path) -> None:
        if self.user is None:
            return
        entry = pwd.getpwnam(self.user)
        for root, dirs, files in os.walk(path):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.chown(name, entry.pw_uid, entry.pw_gid)


def start_cluster(port: int) -> PgCluster:
    """Start a cluster on ``port``; raises RuntimeError when PostgreSQL is not usable here."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin; "
                           "./setup.sh installs Debian's postgresql)")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no postgres user") from None
        user = "postgres"
    # not under pytest's 0700 root dirs; in memory where there is room (fast, nothing left)
    shm = Path("/dev/shm")
    in_memory = shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 2**30
    base = Path(tempfile.mkdtemp(prefix="aichaos-pg-", dir=shm if in_memory else None))
    cluster = PgCluster(bin_dir, base / "data", port, user)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return cluster


def remove(cluster: PgCluster) -> None:
    cluster.stop()
    shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)
