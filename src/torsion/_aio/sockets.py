"""asyncio's ``sock_*`` methods on the loop's readers and writers.

Each method tries its system call at once; only when the socket would block
does it wait, with a Future and a one-shot ``add_reader``/``add_writer``
callback that retries the call until it completes (or fails).  Cancelling the
Future unregisters the callback.
"""

from __future__ import annotations

import errno
import functools
import io
import os
import socket
from asyncio import base_events, exceptions
from collections.abc import Callable
from typing import Any

from torsion._aio.watch import FdWatcher

__all__ = ["SocketMethods"]

_AGAIN: Any = object()  # an attempt's answer for "not finished: keep waiting"


def _sockReady(fut: Any, attempt: Callable[[], Any]) -> None:
    """``sock`` is ready: try ``attempt()`` again; done, its result settles ``fut``."""
    if fut.done():
        return
    try:
        result = attempt()
    except (BlockingIOError, InterruptedError):
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        if result is not _AGAIN:
            fut.set_result(result)
    finally:
        # The exception's traceback keeps this frame: not the future too,
        # which holds the exception (a cycle only the GC would break).
        fut = None


class SocketMethods:
    """The ``sock_*`` part of the EventLoop (a mixin: it uses the loop's own methods)."""

    _debug: bool
    _readers: dict[int, Any]
    _writers: dict[int, Any]
    create_future: Callable[[], Any]
    _add_reader: Callable[..., Any]
    _add_writer: Callable[..., Any]
    _remove_reader: Callable[[int], bool]
    _remove_writer: Callable[[int], bool]
    _ensure_fd_no_transport: Callable[[Any], None]
    _ensure_resolved: Callable[..., Any]

    def _checkSock(self, sock: socket.socket) -> None:
        base_events._check_ssl_socket(sock)  # type: ignore[attr-defined]
        if self._debug and sock.gettimeout() != 0:
            raise ValueError("the socket must be non-blocking")

    def _sockWait(self, sock: socket.socket, writing: bool, attempt: Callable[[], Any]) -> Any:
        """A Future of ``attempt()``, retried each time ``sock`` is ready until it is done."""
        fut = self.create_future()
        fd = sock.fileno()
        self._ensure_fd_no_transport(fd)
        handle = (self._add_writer if writing else self._add_reader)(fd, _sockReady, fut, attempt)
        fut.add_done_callback(functools.partial(self._sockDone, fd, writing, handle))
        return fut

    def _sockDone(self, fd: int, writing: bool, handle: Any, fut: Any) -> None:
        w = (self._writers if writing else self._readers).get(fd)
        if w.__class__ is FdWatcher and (w.writer if writing else w.reader) is handle:
            (self._remove_writer if writing else self._remove_reader)(fd)

    async def sock_recv(self, sock: socket.socket, n: int) -> bytes:
        """Receive up to ``n`` bytes from ``sock``."""
        self._checkSock(sock)
        try:
            return sock.recv(n)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._sockWait(sock, False, lambda: sock.recv(n))  # type: ignore[no-any-return]

    async def sock_recv_into(self, sock: socket.socket, buf: Any) -> int:
        """Receive into ``buf``; the number of bytes received."""
        self._checkSock(sock)
        try:
            return sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._sockWait(sock, False, lambda: sock.recv_into(buf))  # type: ignore[no-any-return]

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
        """Receive a datagram of up to ``bufsize`` bytes: ``(data, address)``."""
        self._checkSock(sock)
        try:
            return sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._sockWait(sock, False, lambda: sock.recvfrom(bufsize))  # type: ignore[no-any-return]

    async def sock_recvfrom_into(
        self, sock: socket.socket, buf: Any, nbytes: int = 0
    ) -> tuple[int, Any]:
        """Receive a datagram into ``buf``: ``(nbytes, address)``."""
        self._checkSock(sock)
        if not nbytes:
            nbytes = len(buf)
        try:
            return sock.recvfrom_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._sockWait(sock, False, lambda: sock.recvfrom_into(buf, nbytes))  # type: ignore[no-any-return]

    async def sock_sendall(self, sock: socket.socket, data: Any) -> None:
        """Send all of ``data``."""
        self._checkSock(sock)
        try:
            n = sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        if n == len(data):
            return
        view = memoryview(data).cast("B")
        sent = [n]

        def more() -> Any:
            sent[0] += sock.send(view[sent[0] :])
            return None if sent[0] == len(view) else _AGAIN

        await self._sockWait(sock, True, more)

    async def sock_sendto(self, sock: socket.socket, data: Any, address: Any) -> int:
        """Send a datagram to ``address``; the number of bytes sent."""
        self._checkSock(sock)
        try:
            return sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._sockWait(sock, True, lambda: sock.sendto(data, address))  # type: ignore[no-any-return]

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        """Connect ``sock`` to ``address`` (host names are resolved first)."""
        self._checkSock(sock)
        if sock.family == socket.AF_INET or (
            base_events._HAS_IPv6 and sock.family == socket.AF_INET6  # type: ignore[attr-defined]
        ):
            resolved = await self._ensure_resolved(
                address, family=sock.family, type=sock.type, proto=sock.proto, loop=self
            )
            _, _, _, _, address = resolved[0]
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            pass

        def connected() -> None:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                raise OSError(err, f"Connect call failed {address}")

        await self._sockWait(sock, True, connected)

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        """Accept a connection: ``(conn, address)``, ``conn`` non-blocking."""
        self._checkSock(sock)

        def accept() -> tuple[socket.socket, Any]:
            conn, address = sock.accept()
            conn.setblocking(False)
            return conn, address

        try:
            return accept()
        except (BlockingIOError, InterruptedError):
            pass
        return await self._sockWait(sock, False, accept)  # type: ignore[no-any-return]

    async def _sock_sendfile_native(
        self, sock: socket.socket, file: Any, offset: int, count: int | None
    ) -> int:
        """``os.sendfile`` from ``file`` to ``sock``, waiting for writability as needed."""
        try:
            fileno = file.fileno()
            fsize = os.fstat(fileno).st_size
        except (AttributeError, io.UnsupportedOperation, OSError):
            raise exceptions.SendfileNotAvailableError("not a regular file")
        end = min(offset + count, fsize) if count else fsize
        if end <= offset:
            return 0
        pos = offset
        try:
            while pos < end:
                try:
                    sent = os.sendfile(sock.fileno(), fileno, pos, min(end - pos, 0x7FFF_F000))
                except (BlockingIOError, InterruptedError):
                    await self._sockWait(sock, True, lambda: None)
                    continue
                except OSError as exc:
                    if exc.errno == errno.ENOTCONN and type(exc) is OSError:
                        raise ConnectionError("socket is not connected") from exc
                    if pos == offset:
                        raise exceptions.SendfileNotAvailableError("os.sendfile call failed")
                    raise
                if sent == 0:
                    break  # the file is shorter than it was
                pos += sent
        finally:
            if pos > offset:
                file.seek(pos)
        return pos - offset
