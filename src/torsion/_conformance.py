"""Type-checked proof that torsion's real classes provide Twisted's interfaces.

Nothing here runs: ``mypy --strict`` (in CI) reads the assignments below and
fails if a class stops satisfying an interface it stands for, structurally
(method names, parameter kinds and types, return types).  ``torsion.testing``
does the same for its doubles.  Add a line here when a new reactor or
transport appears.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torsion import interfaces as i
    from torsion._aio.loop import EventLoop
    from torsion._core.timers import DelayedCall
    from torsion._net import tcp, tls, udp, unix, unixdgram
    from torsion._net.adopt import AdoptedTCPPort, AdoptedUDPPort, AdoptedUNIXPort
    from torsion._net.resolver import GAIResolver, HostResolution
    from torsion._process.stdio import StandardIO
    from torsion._process.transport import Process, PTYProcess
    from torsion._reactor import Reactor
    from torsion._tls.protocol import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
    from torsion.protocol import ClientFactory, Factory, ProcessProtocol, Protocol
    from torsion.task import Clock

    # A union stands for each of its members: mypy checks every one.

    def _reactors(r: Reactor | EventLoop) -> None:
        _core: i.IReactorCore = r
        _time: i.IReactorTime = r
        _threads: i.IReactorThreads = r
        _fds: i.IReactorFDSet = r
        _tcp: i.IReactorTCP = r
        _unix: i.IReactorUNIX = r
        _unixDatagram: i.IReactorUNIXDatagram = r
        _ssl: i.IReactorSSL = r
        _udp: i.IReactorUDP = r
        _process: i.IReactorProcess = r
        _socket: i.IReactorSocket = r
        _names: i.IReactorPluggableNameResolver = r
        _resolver: i.IReactorPluggableResolver = r

    def _clock(c: Clock, d: DelayedCall) -> None:
        _time: i.IReactorTime = c
        _call: i.IDelayedCall = d

    def _streams(t: tcp.Server | tcp.Client | unix.Server | unix.Client) -> None:
        _transport: i.ITLSTransport = t
        _descriptor: i.IReadWriteDescriptor = t
        _consumer: i.IConsumer = t
        _producer: i.IPushProducer = t
        _handle: i.ISystemHandle = t

    def _tls(t: TLSMemoryBIOProtocol, f: TLSMemoryBIOFactory) -> None:
        _transport: i.ITCPTransport = t
        _consumer: i.IConsumer = t
        _producer: i.IPushProducer = t
        _protocol: i.IProtocol = t
        _handle: i.ISystemHandle = t
        _factory: i.IProtocolFactory = f

    def _ports(
        p: tcp.Port
        | tls.Port
        | unix.Port
        | AdoptedTCPPort
        | AdoptedUNIXPort
        | udp.Port
        | udp.MulticastPort
        | AdoptedUDPPort
        | unixdgram.DatagramPort
        | unixdgram.ConnectedDatagramPort,
    ) -> None:
        _listening: i.IListeningPort = p
        _reader: i.IReadDescriptor = p

    def _datagrams(p: udp.Port | udp.MulticastPort | AdoptedUDPPort) -> None:
        _transport: i.IUDPTransport = p

    def _connectors(c: tcp.Connector | tls.Connector | unix.Connector) -> None:
        _connector: i.IConnector = c

    def _processes(p: Process | PTYProcess, stdio: StandardIO) -> None:
        _process: i.IProcessTransport = p
        _standard: i.ITransport = stdio
        _stdConsumer: i.IConsumer = stdio

    def _resolution(r: GAIResolver, h: HostResolution) -> None:
        _resolver: i.IHostnameResolver = r
        _resolution: i.IHostResolution = h

    def _protocols(p: Protocol, f: Factory, c: ClientFactory, pp: ProcessProtocol) -> None:
        _protocol: i.IProtocol = p
        _factory: i.IProtocolFactory = f
        _client: i.IClientFactory = c
        _process: i.IProcessProtocol = pp
