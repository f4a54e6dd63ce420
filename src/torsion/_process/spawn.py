"""Starting a child process: argument checks, descriptor layout, posix_spawn.

Every child is started with ``os.posix_spawn``: no Python code runs between
fork and exec (glibc uses a vfork-style clone), so it is fast, safe when other
threads hold locks, and an exec failure is raised in the caller.

The child's descriptors are exactly those named in ``childFDs``: each source
(a pipe end, or a parent descriptor the caller passed by number) is first
duplicated in the parent, close-on-exec, above every target number, and the
child's file actions ``dup2`` these copies onto the targets, so no target can
clobber a source that another target still needs (``{3: 5, 5: 3}`` works).
Every other descriptor the parent has open without close-on-exec is closed by
a file action.  The signal mask is emptied and every signal's disposition set
to the default (``setsigmask``/``setsigdef``), undoing what Python (SIGPIPE
ignored) or the application did.  (glibc's posix_spawn keeps its own two
internal real-time signals, 32 and 33, ignored in the child; Twisted's
children have the same.)

``posix_spawn`` cannot change directory or user.  When ``path``, ``uid`` or
``gid`` is given, the child is first a small trampoline (this interpreter,
isolated, without site) that reads its orders over a socket, does chdir,
setgid and setuid, and execs the program; it reports a failure back on the
same socket, whose close-on-exec end reads EOF once the exec has succeeded.
That costs an interpreter start-up (some tens of milliseconds), only for
such calls.

The executable is looked up like ``execvpe`` does: a name with a slash is
used as it is (relative to ``path`` when given); a bare name is searched for
in the child environment's ``PATH``, or the parent's when the child has none,
or ``os.defpath``.
"""

from __future__ import annotations

import errno
import fcntl
import marshal
import os
import signal
import socket
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["checkSpawnArgs", "spawn"]

_Env = dict[bytes, bytes]

# Signals whose disposition the child gets reset to the default.
_SIGDEF = tuple(s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))


def _fsbytes(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        data = os.fsencode(value)
    elif isinstance(value, bytes):
        data = value
    elif isinstance(value, os.PathLike):
        data = os.fsencode(value)
    else:
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}: {value!r:.80}")
    if b"\0" in data:
        raise ValueError(f"{what} contains a NUL byte: {value!r:.80}")
    return data


def checkSpawnArgs(
    executable: Any, args: Any, env: Any, path: Any, uid: Any, gid: Any
) -> tuple[bytes, list[bytes], _Env, bytes | None]:
    """Validate spawnProcess's arguments; return them as bytes (env resolved)."""
    exe = _fsbytes(executable, "executable")
    if not exe:
        raise ValueError("executable must not be empty")
    if isinstance(args, (str, bytes)):
        raise TypeError(
            f"args must be a sequence of str or bytes (argv, program name first), "
            f"not a single {type(args).__name__}: {args!r:.80}"
        )
    try:
        items = list(args)
    except TypeError:
        raise TypeError(f"args must be a sequence of str or bytes, not {type(args).__name__}")
    if not items:
        raise ValueError(
            "args must not be empty: it is the child's argv, starting with the program name"
        )
    argv = [_fsbytes(a, f"args[{i}]") for i, a in enumerate(items)]
    if env is None:
        environ: _Env = dict(os.environb)
    elif isinstance(env, Mapping):
        environ = {}
        for k, v in env.items():
            key = _fsbytes(k, "environment variable name")
            if not key or b"=" in key:
                raise ValueError(f"invalid environment variable name: {k!r}")
            environ[key] = _fsbytes(v, f"environment variable {k!r}")
    else:
        raise TypeError(f"env must be a dict or None, not {type(env).__name__}")
    cwd = None
    if path is not None:
        cwd = _fsbytes(path, "path")
        if not os.path.isdir(cwd):
            raise NotADirectoryError(
                errno.ENOTDIR, f"path for the child is not a directory: {path!r}", path
            )
    for name, ident in (("uid", uid), ("gid", gid)):
        if ident is not None and (isinstance(ident, bool) or not isinstance(ident, int)):
            raise TypeError(f"{name} must be an int or None, not {type(ident).__name__}")
    return exe, argv, environ, cwd


def resolveExecutable(exe: bytes, env: _Env, cwd: bytes | None) -> bytes:
    """Find ``exe`` the way execvpe would; raise FileNotFoundError if it is nowhere."""
    if b"/" in exe:
        if cwd is not None and not os.path.isabs(exe):
            return os.path.join(cwd, exe)
        return exe
    pathvar = env.get(b"PATH")
    if pathvar is None:
        pathvar = os.environb.get(b"PATH", os.fsencode(os.defpath))
    denied = False
    for d in pathvar.split(b":"):
        candidate = os.path.join(d or b".", exe)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            denied = True
    if denied:
        raise PermissionError(errno.EACCES, "executable found on PATH but not executable", exe)
    raise FileNotFoundError(errno.ENOENT, "executable not found on PATH", os.fsdecode(exe))


def _inheritableFDs() -> list[int]:
    """The descriptors open in this process without close-on-exec."""
    try:
        candidates = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        try:
            candidates = [int(n) for n in os.listdir("/dev/fd")]
        except OSError:
            candidates = list(range(min(os.sysconf("SC_OPEN_MAX"), 65536)))
    found = []
    for fd in candidates:
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFD)
        except OSError:
            continue
        if not flags & fcntl.FD_CLOEXEC:
            found.append(fd)
    return found


_TRAMPOLINE = """\
import marshal, os, signal, sys
fd = int(sys.argv[1]); stage = "read its orders"
try:
    data = bytearray()
    while chunk := os.read(fd, 65536):
        data += chunk
    cwd, uid, gid, exe, argv, env = marshal.loads(bytes(data))
    if cwd is not None:
        stage = "chdir"; os.chdir(cwd)
    if uid is not None or gid is not None:
        if os.geteuid() == 0:
            stage = "setgroups"; os.setgroups([] if gid is None else [gid])
        if gid is not None:
            stage = "setgid"; os.setgid(gid)
        if uid is not None:
            stage = "setuid"; os.setuid(uid)
    for s in signal.valid_signals():
        if signal.getsignal(s) is signal.SIG_IGN:
            signal.signal(s, signal.SIG_DFL)
    os.set_inheritable(fd, False)
    stage = "exec"; os.execve(exe, argv, env)
except BaseException as e:
    os.write(fd, marshal.dumps((getattr(e, "errno", None) or 0, stage, repr(e))))
os._exit(127)
"""


def spawn(
    exe: bytes,
    argv: list[bytes],
    env: _Env,
    cwd: bytes | None,
    uid: int | None,
    gid: int | None,
    fdmap: dict[int, int],
    tty: bytes | None = None,
) -> int:
    """Start the child; return its pid.

    ``fdmap`` maps each child descriptor to the parent descriptor it copies.
    ``tty``: the path of a pty slave to open as the child's 0, 1 and 2 (and
    controlling terminal, in a new session); ``fdmap`` is then empty.
    """
    program = resolveExecutable(exe, env, cwd)
    trampoline = cwd is not None or uid is not None or gid is not None
    if trampoline:
        if not os.access(program, os.X_OK):
            code = errno.ENOENT if not os.path.exists(program) else errno.EACCES
            raise OSError(code, os.strerror(code), os.fsdecode(program))
        if b"/" in exe:
            program = exe  # as execvpe would, after the chdir: argv and $0 stay as given
    targets = set(fdmap)
    if tty is not None:
        targets |= {0, 1, 2}
    low = max(targets | {2}) + 1
    temps: list[int] = []
    channel: socket.socket | None = None
    childEnd: socket.socket | None = None
    try:
        actions: list[tuple[Any, ...]] = []
        sources = dict(fdmap)
        if trampoline:
            channel, childEnd = socket.socketpair()
            sources[low] = childEnd.fileno()
            targets.add(low)
        top = max(targets) + 1
        for target, source in sorted(sources.items()):
            if source < top:
                # Move it above every target, so no dup2 overwrites a source.
                source = fcntl.fcntl(source, fcntl.F_DUPFD_CLOEXEC, top)
                temps.append(source)
            actions.append((os.POSIX_SPAWN_DUP2, source, target))
        if tty is not None:
            actions.append((os.POSIX_SPAWN_OPEN, 0, tty, os.O_RDWR, 0))
            actions.append((os.POSIX_SPAWN_DUP2, 0, 1))
            actions.append((os.POSIX_SPAWN_DUP2, 0, 2))
        for fd in _inheritableFDs():
            if fd not in targets:
                actions.append((os.POSIX_SPAWN_CLOSE, fd))
        if trampoline:
            if not sys.executable:
                raise NotImplementedError(
                    "spawnProcess with path, uid or gid needs sys.executable to run its helper"
                )
            pythonArgv = [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, str(low)]
            pid = os.posix_spawn(
                sys.executable,
                pythonArgv,
                {},
                file_actions=actions,
                setsigdef=_SIGDEF,
                setsid=tty is not None,
                **_sigmask(),
            )
            assert channel is not None and childEnd is not None
            childEnd.close()
            childEnd = None
            _runTrampoline(channel, pid, (cwd, uid, gid, program, argv, env))
        else:
            pid = os.posix_spawn(
                program,
                argv,
                env,
                file_actions=actions,
                setsigdef=_SIGDEF,
                setsid=tty is not None,
                **_sigmask(),
            )
        return pid
    finally:
        for fd in temps:
            os.close(fd)
        for s in (channel, childEnd):
            if s is not None:
                s.close()


def _sigmask() -> dict[str, Any]:
    """posix_spawn's argument to unblock every signal in the child, if any is blocked here.

    Without it the child starts with this thread's mask.  With it, glibc
    leaves its two internal signals blocked in the child, so it is only
    passed when needed.
    """
    if signal.pthread_sigmask(signal.SIG_BLOCK, ()):
        return {"setsigmask": ()}
    return {}


def _runTrampoline(channel: socket.socket, pid: int, orders: tuple[Any, ...]) -> None:
    """Send the trampoline its orders; raise what went wrong before its exec."""
    try:
        channel.sendall(marshal.dumps(orders))
        channel.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # it died early; what it says (or its exit status) tells why
    report = bytearray()
    while chunk := channel.recv(65536):
        report += chunk
    if not report:
        return
    os.waitpid(pid, 0)  # it exits at once after reporting
    code, stage, detail = marshal.loads(bytes(report))
    exe = os.fsdecode(orders[3])
    if code:
        raise OSError(code, f"{stage} failed in the child: {os.strerror(code)}", exe)
    raise OSError(errno.ECHILD, f"the child failed to {stage}: {detail}", exe)
