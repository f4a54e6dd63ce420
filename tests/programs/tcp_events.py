# A Twisted-idiom program: TCP echo through Factory and ClientCreator, and the
# exact order of factory and connector events, refused and cancelled attempts.
import os
import socket

from twisted.internet import defer, error, protocol, reactor, task


def say(*words):
    print(*words, flush=True)


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Collect(protocol.Protocol):
    def connectionMade(self):
        self.buf = b""
        self.lost = defer.Deferred()

    def dataReceived(self, data):
        self.buf += data

    def connectionLost(self, reason):
        self.lost.callback(reason.type.__name__)


class Watch(protocol.ClientFactory):
    protocol = Collect

    def __init__(self, name):
        self.name = name
        self.done = defer.Deferred()

    def startFactory(self):
        say(self.name, "startFactory")

    def stopFactory(self):
        say(self.name, "stopFactory")
        self.done.callback(None)

    def startedConnecting(self, connector):
        say(self.name, "startedConnecting", connector.state)

    def buildProtocol(self, addr):
        say(self.name, "buildProtocol", type(addr).__name__, addr.host)
        p = protocol.ClientFactory.buildProtocol(self, addr)
        reactor.callLater(0.05, lambda: p.transport.loseConnection())
        return p

    def clientConnectionFailed(self, connector, reason):
        say(self.name, "clientConnectionFailed", reason.type.__name__, connector.state)

    def clientConnectionLost(self, connector, reason):
        say(self.name, "clientConnectionLost", reason.type.__name__, connector.state)


def freePort():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@defer.inlineCallbacks
def main():
    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Echo), interface="127.0.0.1")
    number = port.getHost().port
    say("host", type(port.getHost()).__name__, port.getHost().type)

    w = Watch("ok")
    c = reactor.connectTCP("127.0.0.1", number, w)
    say("state after connectTCP", c.state)
    yield w.done

    w = Watch("refused")
    reactor.connectTCP("127.0.0.1", freePort(), w)
    yield w.done

    w = Watch("disconnect")
    c = reactor.connectTCP("127.0.0.1", number, w)
    c.disconnect()
    yield w.done

    cc = protocol.ClientCreator(reactor, Collect)
    p = yield cc.connectTCP("127.0.0.1", number)
    payload = os.urandom(1 << 20)
    p.transport.write(payload)
    while len(p.buf) < len(payload):
        yield task.deferLater(reactor, 0.001, lambda: None)
    say("ClientCreator echo intact", p.buf == payload)
    p.transport.loseConnection()
    say("lost with", (yield p.lost))

    d = cc.connectTCP("127.0.0.1", number)
    d.cancel()
    try:
        yield d
    except defer.CancelledError:
        say("cancelled attempt: CancelledError")

    try:
        yield cc.connectTCP("127.0.0.1", freePort())
    except error.ConnectionRefusedError:
        say("ClientCreator refused: ConnectionRefusedError")

    try:
        reactor.listenTCP(number, protocol.Factory.forProtocol(Echo), interface="127.0.0.1")
    except error.CannotListenError:
        say("port in use: CannotListenError")

    p = yield cc.connectTCP("127.0.0.1", number)
    p.transport.abortConnection()
    say("abort:", (yield p.lost))

    yield port.stopListening()
    reactor.stop()


reactor.callWhenRunning(main)
reactor.run()
