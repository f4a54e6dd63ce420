# A Twisted-idiom program that a signal stops: graceful shutdown through triggers.
from twisted.internet import defer, reactor


def say(*words):
    print(*words, flush=True)


def before():
    say("before-shutdown")
    d = defer.Deferred()
    reactor.callLater(0.01, d.callback, None)
    return d


reactor.addSystemEventTrigger("before", "shutdown", before)
reactor.addSystemEventTrigger("after", "shutdown", say, "after-shutdown")
reactor.callWhenRunning(say, "ready")
reactor.run()
say("exited run")
