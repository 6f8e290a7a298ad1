"""Start servers as children and stop them again by process id, whatever happens.

Each child is started in a session (and so a process group) of its own whose id is its pid:
stopping it signals that group, which reaches the workers it forked too (gunicorn's, nginx's,
PostgreSQL's back ends) and nothing else on the machine. Children stop last-started first:
SIGTERM, then SIGKILL for any that outlive the grace period.
"""

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    """A loopback TCP port that nothing listens on now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, child: subprocess.Popen, name: str, timeout: float = 60) -> None:
    """Wait until the child listens on port; a clear error if it dies or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(port):
            return
        if child.poll() is not None:
            raise RuntimeError(f"{name} (pid {child.pid}) exited with status {child.returncode} before listening")
        time.sleep(0.1)
    raise RuntimeError(f"{name} (pid {child.pid}) did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def process_alive(pid: int) -> bool:
    """Whether the process pid is still there (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group pgid is still there (zombies excluded)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg(0) also succeeds for zombies: look for a member that is not one.
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    ports: list[int] = field(default_factory=list)


class Processes:
    """The children of one run, in the order they were started; log files under logdir."""

    def __init__(self, logdir: Path):
        self.logdir = Path(logdir)
        self.children: list[Child] = []

    def start(self, name: str, argv: list[str], *, ports=(), env=None, cwd=None, logged=True) -> Child:
        """Start argv in a new session, its output to logdir/<name>.log (or to ours, when not
        logged); the ports it will own are noted so that stop_all can check they were let go."""
        log = open(self.logdir / f"{name}.log", "ab") if logged else None  # noqa: SIM115 - the child keeps it
        try:
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT if logged else None,
                start_new_session=True,
            )
        finally:
            if log:
                log.close()
        child = Child(name, process, list(ports))
        self.children.append(child)
        return child

    def stop_all(self, grace: float = 15) -> list[str]:
        """Stop every child, last started first, by its process group id; returns what is
        still running or listening afterwards (nothing, when all went well)."""
        left = []
        for child in reversed(self.children):
            self._stop(child, grace)
            if group_alive(child.process.pid):
                left.append(f"{child.name} (process group {child.process.pid})")
            left += [f"{child.name}: port {port} still listening" for port in child.ports if listening(port)]
        self.children.clear()
        return left

    @staticmethod
    def _stop(child: Child, grace: float) -> None:
        pgid = child.process.pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                child.process.poll()  # reap the leader once it exits
                if not group_alive(pgid):
                    return
                time.sleep(0.1)
        child.process.poll()
