"""Run podfix as users do: the installed console script, or through the real kubectl."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: kubectl-podfix lives here


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


def cli_env(kubeconfig_path: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "PODFIX_TEST"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = env.get("HOME", "/root")
    env.pop("NO_COLOR", None)
    if kubeconfig_path:
        env["KUBECONFIG"] = kubeconfig_path
    env.update(extra)
    return env


def run_podfix(args: list[str], *, kubeconfig: str | None = None, stdin: str | None = None,
               via_kubectl: bool = False, env: dict | None = None, timeout: float = 60) -> Run:
    """Run the installed console script (or `kubectl podfix` through the real kubectl)."""
    cmd = ["kubectl", "podfix", *args] if via_kubectl else [str(BIN / "kubectl-podfix"), *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=env or cli_env(kubeconfig), cwd=ROOT)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def have_kubectl() -> bool:
    return shutil.which("kubectl") is not None


@dataclass
class TtyRun:
    code: int
    out: str  # what the terminal showed (stdout and stderr), "\r\n" turned into "\n"

    @property
    def lines(self) -> list[str]:
        return self.out.split("\n")


def run_in_pty(args: list[str], *, columns: int = 80, rows: int = 50, env: dict | None = None,
               kubeconfig: str | None = None, input_lines: list[str] = (), timeout: float = 60) -> TtyRun:
    """Run the console script on a real pseudo-terminal of ``columns`` x ``rows`` (TIOCSWINSZ), as a
    user's terminal: stdin, stdout and stderr are the terminal. ``input_lines`` are typed in order, each
    after the previous output went quiet."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    env = dict(env or cli_env(kubeconfig))
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env.setdefault("TERM", "xterm-256color")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen([str(BIN / "kubectl-podfix"), *args], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=ROOT, start_new_session=True)
    os.close(slave)
    data = b""
    pending = list(input_lines)
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                data += chunk
                quiet_since = time.monotonic()
            elif proc.poll() is not None:
                break
            elif pending and time.monotonic() - quiet_since > 0.5:
                os.write(master, pending.pop(0).encode() + b"\n")
                quiet_since = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
        code = proc.wait(timeout=30)
        os.close(master)
    return TtyRun(code, data.decode("utf-8", "replace").replace("\r\n", "\n"))


def one_error_line(run: Run, code: int = 1) -> str:
    """The one ``error: ...`` line a failed run printed on stderr (exit ``code``, no traceback anywhere)."""
    assert run.code == code, (run.code, run.out, run.err)
    assert "Traceback" not in run.err + run.out and "internal error" not in run.err
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    return lines[0]
