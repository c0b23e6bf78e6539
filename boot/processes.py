"""Start processes with their own log file and stop each one by its pid (process group), never by name."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Processes:
    """Every process the boot starts; `stop_all` ends them in reverse order, by pid."""

    log_dir: Path
    started: list[Started] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Started:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        started = Started(name, process, log)
        self.started.append(started)
        return started

    def stop(self, started: Started, grace: float = 20.0) -> int | None:
        """SIGTERM to the process group the process leads, then SIGKILL after `grace` seconds."""
        if started.alive():
            _signal_group(started.process.pid, signal.SIGTERM)
            try:
                started.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(started.process.pid, signal.SIGKILL)
                started.process.wait(timeout=10)
        # Children left in the group (a server's workers) go too.
        _signal_group(started.process.pid, signal.SIGKILL)
        return started.process.returncode

    def stop_all(self) -> None:
        for started in reversed(self.started):
            self.stop(started)
        self.started.clear()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def wait_for(check, timeout: float, what: str, interval: float = 0.5, died=None):  # type: ignore[no-untyped-def]
    """Poll `check()` until it returns a truthy value; fail naming `what` (and a dead process's log tail)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if died is not None and not died.alive():
            tail = "\n".join(died.output().splitlines()[-30:])
            raise AssertionError(f"{died.name} exited ({died.process.returncode}) while waiting for {what}:\n{tail}")
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # the check's own failure is the thing we wait out
            last = error
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last})" if last else "")
    )
