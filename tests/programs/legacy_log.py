# A Twisted-idiom program: classic logging (log.msg, log.err) to stdout, with coiterate.
import sys

from twisted.internet import defer, reactor, task
from twisted.python import log
from twisted.python.failure import Failure

log.startLogging(sys.stdout)
log.msg("plain message", "in words", system="custom")
log.msg(format="%(n)d items", n=3)
try:
    raise ZeroDivisionError("division by zero")
except ZeroDivisionError:
    log.err(None, "while dividing")
log.err(Failure(KeyError("key")))
print("printed, so logged")


class Prefixed(log.Logger):
    def logPrefix(self):
        return "Prefixed,7"


def inContext():
    log.msg("in context")
    raise ValueError("raised in context")


log.callWithLogger(Prefixed(), inContext)


def work(name):
    for i in range(3):
        log.msg(name, "unit", i)
        yield


def unhandled():
    d = defer.Deferred()
    d.addCallback(lambda _: 1 / 0)
    d.callback(None)


done = defer.gatherResults([task.coiterate(work("a")), task.coiterate(work("b"))])
done.addCallback(lambda _: log.msg("all units done"))
done.addCallback(lambda _: unhandled())
done.addCallback(lambda _: reactor.callLater(0, reactor.stop))
reactor.run()
