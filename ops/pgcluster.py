"""A PostgreSQL primary and streaming read replicas on loopback, made from scratch in a folder.

For the replica tests (tests/test_replicas.py) and the cluster demo: `initdb` makes the primary,
`pg_basebackup -R` copies it into each replica (which then streams from it), each server on its
own free port with its own pg_hba.conf that lets replication in from 127.0.0.1 only. Run as the
`postgres` OS user when started by root (initdb refuses root), through `runuser`.

    with Cluster(folder, replicas=1, apply_delay=2) as cluster:
        cluster.primary_url, cluster.replica_urls

    python ops/pgcluster.py up DIR [--replicas N] [--apply-delay SECONDS]   # prints the URLs
    python ops/pgcluster.py down DIR                                         # stops it by pid

`apply_delay` sets recovery_min_apply_delay on the replicas: they receive the WAL at once but
replay each commit only that long after it happened, a replica that lags on purpose.
Servers are stopped with `pg_ctl -m immediate` (no shutdown checkpoint: the folder is thrown
away). Standard library only, so it runs before the project's virtualenv exists.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"  # the OS user the servers run as when we are root
DB_USER = "postgres"  # the database superuser initdb makes
STATE_FILE = "cluster.json"
NEEDED = ("initdb", "pg_ctl", "pg_basebackup", "psql")


class ClusterError(Exception):
    """A server could not be made, started or stopped; the message says which and why."""


def missing_binaries() -> str | None:
    """Why a cluster cannot be made here (a binary or the OS user missing), or None."""
    absent = [name for name in NEEDED if not (BIN / name).is_file()]
    if absent:
        return f"PostgreSQL binaries not found in {BIN}: {', '.join(absent)} (set PG_BIN to their folder)"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root, and there is no {OS_USER!r} OS user to run PostgreSQL as"
        if not shutil.which("runuser"):
            return "running as root, and `runuser` (to run PostgreSQL as postgres) is not installed"
    return None


def free_port() -> int:
    """A loopback port free now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    name: str  # "primary", "replica1", ...
    data: str  # its data directory
    port: int

    def url(self, database: str) -> str:
        return f"postgres://{DB_USER}@127.0.0.1:{self.port}/{database}"

    def pid(self) -> int | None:
        """The postmaster's process id, from its pid file, while it runs."""
        try:
            return int((Path(self.data) / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None


class Cluster:
    """A primary and `replicas` streaming replicas under `root` (created if missing; must be
    reachable by the postgres OS user, so not under a 0700 folder of root's)."""

    def __init__(self, root, *, replicas: int = 1, apply_delay: float = 0, database: str = "newsroom"):
        self.root = Path(root).resolve()
        self.database = database
        self.apply_delay = apply_delay
        self.primary = Server("primary", str(self.root / "primary"), 0)
        self.replicas = [Server(f"replica{n}", str(self.root / f"replica{n}"), 0) for n in range(1, replicas + 1)]

    # What callers use --------------------------------------------------------------------

    @property
    def primary_url(self) -> str:
        return self.primary.url(self.database)

    @property
    def replica_urls(self) -> list[str]:
        return [replica.url(self.database) for replica in self.replicas]

    def server(self, name: str) -> Server:
        for server in (self.primary, *self.replicas):
            if server.name == name:
                return server
        raise ClusterError(f"no server named {name!r} in {self.root}")

    def up(self) -> "Cluster":
        """Make the primary and its replicas and start them all; stops what it started on failure."""
        if reason := missing_binaries():
            raise ClusterError(reason)
        if (self.root / STATE_FILE).exists():
            raise ClusterError(f"{self.root} already holds a cluster ({STATE_FILE}); run `down` first")
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        if (
            os.geteuid() == 0
            and subprocess.run(["runuser", "-u", OS_USER, "--", "test", "-w", str(self.root)]).returncode
        ):
            raise ClusterError(
                f"the {OS_USER} OS user cannot reach {self.root}: a folder above it is closed to others "
                "(mktemp -d and pytest's tmp_path make 0700 folders); use a folder made by "
                "pgcluster.temporary_root() or under /tmp directly"
            )
        try:
            self._make_primary()
            for replica in self.replicas:
                self._make_replica(replica)
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        """Stop every server of the cluster (immediate shutdown), by its pid file's process id."""
        for server in (*self.replicas, self.primary):
            self.stop(server.name)
        (self.root / STATE_FILE).unlink(missing_ok=True)

    def stop(self, name: str) -> None:
        """Stop one server at once (as a crash would), if it runs."""
        server = self.server(name)
        pid = server.pid()
        if pid is None:
            return
        done = self._run(["pg_ctl", "-D", server.data, "-m", "immediate", "-w", "-t", "20", "stop"], check=False)
        if done.returncode != 0 and _postmaster_of(pid, server.data):
            os.kill(pid, 9)  # SIGKILL: pg_ctl could not; the folder is thrown away anyway

    def start(self, name: str) -> None:
        """Start one server again (after `stop`), on its own port, waiting until it answers."""
        server = self.server(name)
        self._run(["pg_ctl", "-D", server.data, "-l", f"{server.data}.log", "-w", "-t", "60", "start"])

    def __enter__(self) -> "Cluster":
        return self.up()

    def __exit__(self, *exc_info) -> None:
        self.down()

    @classmethod
    def load(cls, root) -> "Cluster":
        """The cluster that `up` left in `root` (for `down` from another process)."""
        path = Path(root).resolve() / STATE_FILE
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            raise ClusterError(f"no cluster in {path.parent} (no {STATE_FILE})") from None
        cluster = cls(root, replicas=0, apply_delay=state["apply_delay"], database=state["database"])
        cluster.primary = Server(**state["primary"])
        cluster.replicas = [Server(**replica) for replica in state["replicas"]]
        return cluster

    # Making the servers -------------------------------------------------------------------

    def _make_primary(self) -> None:
        server = self.primary
        self._run(["initdb", "-D", server.data, "-U", DB_USER, "-A", "trust", "-E", "UTF8", "--no-sync"])
        Path(server.data, "pg_hba.conf").write_text(
            "# Made by ops/pgcluster.py: loopback only, replication allowed.\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n"
        )
        self._start(server, ["wal_level = replica", "max_wal_senders = 10", "wal_keep_size = '64MB'"])
        self._run(["psql", "-h", "127.0.0.1", "-p", str(server.port), "-U", DB_USER, "-d", "postgres",
                   "-v", "ON_ERROR_STOP=1", "-qc", f'CREATE DATABASE "{self.database}"'])  # fmt: skip

    def _make_replica(self, replica: Server) -> None:
        primary = self.primary
        self._run(["pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", DB_USER,
                   "-D", replica.data, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"])  # fmt: skip
        settings = ["hot_standby = on"]
        if self.apply_delay:
            settings.append(f"recovery_min_apply_delay = '{int(self.apply_delay * 1000)}ms'")
        self._start(replica, settings)

    def _start(self, server: Server, settings: list[str]) -> None:
        """Write the server's own settings (a free port now, loopback, its socket in its folder)
        and start it, waiting until it accepts connections."""
        server.port = free_port()
        common = [
            f"port = {server.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{server.data}'",
            "max_connections = 60",
            "shared_buffers = '32MB'",
            "fsync = off",  # a throwaway cluster: speed over surviving a power cut
            "full_page_writes = off",
            "logging_collector = off",
        ]
        with open(Path(server.data, "postgresql.auto.conf"), "a") as conf:
            conf.write("\n# ops/pgcluster.py\n" + "\n".join(common + settings) + "\n")
        self._save()
        self._run(["pg_ctl", "-D", server.data, "-l", f"{server.data}.log", "-w", "-t", "60", "start"])

    def _save(self) -> None:
        state = {
            "database": self.database,
            "apply_delay": self.apply_delay,
            "primary": asdict(self.primary),
            "replicas": [asdict(replica) for replica in self.replicas],
        }
        (self.root / STATE_FILE).write_text(json.dumps(state, indent=2))

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, OS_USER, OS_USER)
            path.chmod(0o700)

    def _run(self, command: list[str], *, check: bool = True, cwd=None) -> subprocess.CompletedProcess:
        argv = [str(BIN / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", OS_USER, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd or self.root)
        if check and done.returncode != 0:
            raise ClusterError(f"{command[0]} failed ({done.returncode}) in {self.root}: {done.stderr.strip()[-2000:]}")
        return done


def temporary_root(prefix: str = "pgcluster-") -> Path:
    """A new empty folder under the system's temporary folder for a cluster, that the postgres
    OS user owns (the caller removes it: shutil.rmtree, after `down`)."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(root, OS_USER, OS_USER)
    return root


def _postmaster_of(pid: int, data: str) -> bool:
    """Whether process `pid` runs now and is the postgres server of the folder `data` (a pid file
    left by a crash may name a process id that is someone else's by now)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(command) and command[0].endswith(b"postgres") and data.encode() in command


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="make and start a primary and replicas in DIR; print their URLs")
    up.add_argument("dir")
    up.add_argument("--replicas", type=int, default=1)
    up.add_argument("--apply-delay", type=float, default=0, metavar="SECONDS", help="recovery_min_apply_delay")
    up.add_argument("--database", default="newsroom")
    down = commands.add_parser("down", help="stop the cluster in DIR (by pid)")
    down.add_argument("dir")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            cluster = Cluster(args.dir, replicas=args.replicas, apply_delay=args.apply_delay, database=args.database)
            cluster.up()
            print(f"DATABASE_URL={cluster.primary_url}")
            print(f"DATABASE_REPLICA_URL={','.join(cluster.replica_urls)}")
        else:
            Cluster.load(args.dir).down()
    except ClusterError as error:
        print(f"pgcluster: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
