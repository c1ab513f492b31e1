"""The record of a running ``etsygen dev`` stack, and how admin commands find it.

``etsygen dev`` starts PostgreSQL on a socket under its data directory and Redis on a new port each run, so
nobody can be expected to type their URLs. It writes them (with the other stack settings, each service's URL
and its own pid) to ``<data dir>/dev-stack.json`` and removes the file when it stops. Admin commands
(``etsygen users``, ``etsygen dlq``, ``etsygen migrate``) call :func:`load_with_dev_stack`, which fills the
settings that neither the environment nor ``.env`` gives from that record, so they work against the running
stack with no configuration; a setting given in the environment always wins.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from etsygen_common.settings import SettingsError, load_environ

T = TypeVar("T")

STACK_FILE = "dev-stack.json"
DEFAULT_DATA_DIR = Path(".data")
DATA_DIR_VARIABLE = "ETSYGEN_DATA_DIR"

STACK_VARIABLES = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "ETSY_BASE_URL", "ETSY_API_KEY")
"""The settings a dev stack's record may carry; the rest of a command's settings have defaults."""

FIX = (
    "start the platform with `make run` (admin commands then find it by themselves), or set {variable} in "
    "the environment or .env"
)


@dataclass(frozen=True, slots=True)
class DevStack:
    """What ``etsygen dev`` records about itself while it runs."""

    pid: int
    """The ``etsygen dev`` process."""
    started: float
    """Its start time (``psutil.Process.create_time``), so a reused pid is not taken for it."""
    data_dir: str
    environment: dict[str, str]
    """Values of :data:`STACK_VARIABLES` the services run with."""
    services: dict[str, str] = field(default_factory=dict)
    """Service name to base URL."""

    def is_running(self) -> bool:
        """Whether the process that wrote the record still runs."""
        import psutil

        try:
            return abs(float(psutil.Process(self.pid).create_time()) - self.started) < 1.0
        except psutil.Error:
            return False


def process_start_time(pid: int) -> float:
    """Start time of ``pid`` as :meth:`DevStack.is_running` compares it."""
    import psutil

    return float(psutil.Process(pid).create_time())


def write_stack(path: Path, stack: DevStack) -> None:
    """Write the record atomically (readers never see half a file), readable by its owner only.

    It holds database and Redis URLs, which may carry passwords, hence 0600 from the moment it exists.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(stack), out, indent=2)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stack(path: Path) -> None:
    """Remove the record (a clean stop)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_stack(path: Path) -> DevStack | None:
    """The record at ``path``; None when there is none or it is unreadable."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return DevStack(
            pid=int(data["pid"]),
            started=float(data["started"]),
            data_dir=str(data["data_dir"]),
            environment={str(k): str(v) for k, v in data["environment"].items()},
            services={str(k): str(v) for k, v in data.get("services", {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def stack_path(environ: Mapping[str, str]) -> Path | None:
    """Where the running stack's record is: under ``$ETSYGEN_DATA_DIR``, else the nearest ``.data/``.

    The nearest means in the current directory or a parent, so a command run from a sub-folder of the
    checkout finds the stack ``make run`` started at its top.
    """
    if environ.get(DATA_DIR_VARIABLE):
        return Path(environ[DATA_DIR_VARIABLE]) / STACK_FILE
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_DATA_DIR / STACK_FILE
        if candidate.is_file():
            return candidate
    return None


def use_dev_stack(
    environ: MutableMapping[str, str] | None = None,
    notice: Callable[[str], None] | None = None,
) -> DevStack | None:
    """Fill the stack settings missing from ``environ`` (and ``.env``) from the running dev stack's record.

    Args:
        environ: the environment to complete; default the process environment, which the settings loaders
            read.
        notice: where the one-line notice about a stale record goes; default stderr.

    Returns:
        The running stack whose record was used, or None (no record, or a stale one).
    """
    target = os.environ if environ is None else environ
    say = _once(notice or _to_stderr)
    path = stack_path(target)
    if path is None:
        return None
    stack = read_stack(path)
    if stack is None:
        if path.exists():
            say(f"etsygen: ignoring {path}: it is not a dev stack record")
        return None
    if not stack.is_running():
        say(f"etsygen: ignoring {path}: the `etsygen dev` that wrote it (pid {stack.pid}) is not running")
        return None
    given = load_environ() if environ is None else target
    for variable, value in stack.environment.items():
        if variable in STACK_VARIABLES and not given.get(variable):
            target[variable] = value
    return stack


def load_with_dev_stack(load: Callable[[], T], environ: MutableMapping[str, str] | None = None) -> T:
    """``load()`` (a service's ``load_settings``) with settings missing from the environment taken from the
    running dev stack.

    Raises:
        SettingsError: a setting is still missing or invalid; when no dev stack runs, the message names
            the fix.
    """
    stack = use_dev_stack(environ)
    try:
        return load()
    except SettingsError as exc:
        message = str(exc)
        variable = message.split(" is not set", 1)[0]
        if stack is None and variable in STACK_VARIABLES:
            raise SettingsError(f"{message}; {FIX.format(variable=variable)}") from None
        raise


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


_said: set[str] = set()


def _once(say: Callable[[str], None]) -> Callable[[str], None]:
    """``etsygen migrate all`` loads four services' settings; the notice about a stale record is said once."""

    def once(line: str) -> None:
        if line not in _said:
            _said.add(line)
            say(line)

    return once
