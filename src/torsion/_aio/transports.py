"""The transports behind the EventLoop's asyncio API, and the UNIX socket variants.

* Streams (TCP and UNIX sockets, client, server, adopted): torsion's
  ``StreamConnection`` under a ``StreamTransport`` adapter; servers accept
  with torsion's accept loop (``ServingPort``).
* TLS: asyncio's own ``SSLProtocol`` between the asyncio protocol and the
  stream transport, so TLS behaves exactly as asyncio documents it
  (``connection_made`` after the handshake, ``ssl.SSLError`` subclasses,
  ``ssl_shutdown_timeout``, ``start_tls``).
* Datagrams and pipes: asyncio's loop-generic transports, which need only the
  loop's ``_add_reader``/``_add_writer`` (torsion's readiness machinery).
* Subprocesses: spawned with ``subprocess.Popen`` as asyncio does, their
  pipes connected as above, and their exit noticed by torsion's reaper (a
  pidfd reader, or the SIGCHLD watcher where pidfds are missing).
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from asyncio import base_events, selector_events, sslproto, tasks, unix_events
from asyncio.log import logger
from typing import Any

from torsion._aio.stream import ServingPort, StreamTransport, TransportStream, noNagle
from torsion._process import reap

__all__ = ["TransportMethods"]


class _ChildExit:
    """What torsion's reaper tells when a subprocess transport's child exits."""

    __slots__ = ("pid", "status", "transport")

    def __init__(self, transport: Any, pid: int) -> None:
        self.transport = transport
        self.pid: int | None = pid
        self.status: int | None = None

    def _exited(self, status: int | None) -> None:
        code = 255 if status is None else os.waitstatus_to_exitcode(status)
        self.transport._process_exited(code)

    def _abandoned(self) -> None:
        """The reactor shut down before the child ended: it is reaped in a thread."""


class TransportMethods:
    """The transport-making part of the EventLoop (a mixin)."""

    _servingPorts: dict[Any, Any]
    _transports: Any
    sock_sendfile: Any
    call_soon: Any
    create_future: Any
    sock_connect: Any
    _create_connection_transport: Any

    def _make_socket_transport(
        self,
        sock: socket.socket,
        protocol: Any,
        waiter: Any = None,
        *,
        extra: dict[str, Any] | None = None,
        server: Any = None,
    ) -> StreamTransport:
        noNagle(sock)  # (a server's accepted sockets have it from ServingPort's)
        transport = StreamTransport(self, protocol, extra, server)
        self.call_soon(transport._start, TransportStream(sock, transport, self), waiter)
        return transport

    def _make_ssl_transport(
        self,
        rawsock: socket.socket,
        protocol: Any,
        sslcontext: Any,
        waiter: Any = None,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        extra: dict[str, Any] | None = None,
        server: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        call_connection_made: bool = True,
    ) -> Any:
        loop: Any = self
        tls = sslproto.SSLProtocol(
            loop,
            protocol,
            sslcontext,
            waiter,
            server_side,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,  # type: ignore[arg-type]
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            call_connection_made=call_connection_made,
        )
        self._make_socket_transport(rawsock, tls, extra=extra, server=server)
        return tls._app_transport

    async def _sendfile_native(
        self, transp: Any, file: Any, offset: int, count: int | None
    ) -> int:
        """``sock_sendfile`` on a stream transport's socket, once its queue is empty."""
        stream = transp._stream
        fd = stream.fileno()
        self._transports.pop(fd, None)
        resume = transp.is_reading()
        transp.pause_reading()
        await transp._make_empty_waiter()
        try:
            return await self.sock_sendfile(  # type: ignore[no-any-return]
                stream.socket, file, offset, count, fallback=False
            )
        finally:
            transp._reset_empty_waiter()
            if resume:
                transp.resume_reading()
            self._transports[fd] = transp

    def _start_serving(
        self,
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        ssl = {}
        if sslcontext is not None:
            ssl = {
                "ssl_handshake_timeout": ssl_handshake_timeout,
                "ssl_shutdown_timeout": ssl_shutdown_timeout,
            }
        self._servingPorts[sock] = ServingPort.serve(
            self, protocol_factory, sock, sslcontext, server, **ssl
        )

    def _stop_serving(self, sock: socket.socket) -> None:
        port = self._servingPorts.pop(sock, None)
        if port is not None:
            port.loseConnection()
        else:
            sock.close()

    def _make_datagram_transport(
        self,
        sock: socket.socket,
        protocol: Any,
        address: Any = None,
        waiter: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> Any:
        return selector_events._SelectorDatagramTransport(  # type: ignore[attr-defined]
            self, sock, protocol, address, waiter, extra
        )

    def _make_read_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: dict[str, Any] | None = None
    ) -> Any:
        return unix_events._UnixReadPipeTransport(self, pipe, protocol, waiter, extra)  # type: ignore[attr-defined]

    def _make_write_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: dict[str, Any] | None = None
    ) -> Any:
        return unix_events._UnixWritePipeTransport(self, pipe, protocol, waiter, extra)  # type: ignore[attr-defined]

    async def _make_subprocess_transport(
        self,
        protocol: Any,
        args: Any,
        shell: bool,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        bufsize: int,
        extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        waiter = self.create_future()
        transport = unix_events._UnixSubprocessTransport(  # type: ignore[attr-defined]
            self,
            protocol,
            args,
            shell,
            stdin,
            stdout,
            stderr,
            bufsize,
            waiter=waiter,
            extra=extra,
            **kwargs,
        )
        pid = transport.get_pid()
        child = _ChildExit(transport, pid)
        if reap.HAVE_PIDFD:
            reap.PidfdWatcher(self, child, pid).start()
        else:
            reap.SigchldWatcher.forReactor(self).add(pid, child)
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            transport.close()
            await transport._wait()
            raise
        return transport

    # ------------------------------------------------------- UNIX sockets

    async def create_unix_connection(
        self,
        protocol_factory: Any,
        path: Any = None,
        *,
        ssl: Any = None,
        sock: socket.socket | None = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[Any, Any]:
        """Connect to the UNIX socket ``path`` (or use ``sock``); ``(transport, protocol)``."""
        if ssl:
            if server_hostname is None:
                raise ValueError("you have to pass server_hostname when using ssl")
        else:
            if server_hostname is not None:
                raise ValueError("server_hostname is only meaningful with ssl")
            if ssl_handshake_timeout is not None:
                raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
            if ssl_shutdown_timeout is not None:
                raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            path = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, path)
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("no path and sock were specified")
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
            sock.setblocking(False)
        return await self._create_connection_transport(  # type: ignore[no-any-return]
            sock,
            protocol_factory,
            ssl,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    async def create_unix_server(
        self,
        protocol_factory: Any,
        path: Any = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
    ) -> Any:
        """Listen on the UNIX socket ``path`` (or on ``sock``); returns a ``Server``."""
        if isinstance(ssl, bool):
            raise TypeError("ssl argument must be an SSLContext or None")
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
        if ssl_shutdown_timeout is not None and not ssl:
            raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            path = os.fspath(path)
            if path[0] not in (0, "\x00"):
                # A socket file left by a previous server is in the way: remove it.
                # (Before the socket exists: nothing to close if this raises.)
                try:
                    if stat.S_ISSOCK(os.stat(path).st_mode):
                        os.remove(path)
                except FileNotFoundError:
                    pass
                except OSError as err:  # as asyncio: say so, and let bind() decide
                    logger.error("Unable to check or remove stale UNIX socket %r: %r", path, err)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(path)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use")
                raise
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("path was not specified, and no sock specified")
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
        sock.setblocking(False)
        loop: Any = self
        server: Any = base_events.Server(
            loop,
            [sock],
            protocol_factory,
            ssl,
            backlog,
            ssl_handshake_timeout,
            ssl_shutdown_timeout,
        )
        if start_serving:
            server._start_serving()
            await tasks.sleep(0)
        return server
