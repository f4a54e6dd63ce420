# A Twisted-idiom program: Deferreds, coroutines, task.
from twisted.internet import defer, reactor, task
from twisted.python.failure import Failure


def say(*words):
    print(*words, flush=True)


d = defer.Deferred()
d.addCallback(lambda x: x + 1)
d.addCallback(lambda x: 1 / 0 if x == 2 else x)
d.addErrback(lambda f: say("errback", f.type.__name__) or 10)
d.addBoth(lambda r: say("both", r))
d.callback(1)
try:
    d.callback(2)
except defer.AlreadyCalledError:
    say("AlreadyCalledError")

inner = defer.Deferred()
outer = defer.succeed(1)
outer.addCallback(lambda _: inner)
outer.addCallback(lambda r: say("outer got", r))
say("outer paused before inner fires")
inner.callback("inner result")

f = defer.Deferred()
f.addCallback(lambda r: say("not reached"))
f.addErrback(lambda fl: say("failure via callback", fl.getErrorMessage()))
f.callback(Failure(ValueError("passed as result")))

cancelled = defer.Deferred(lambda d: say("canceller ran"))
cancelled.addErrback(lambda fl: say("cancelled with", fl.type.__name__))
cancelled.cancel()

dl = defer.DeferredList(
    [defer.succeed(1), defer.fail(KeyError("k")), defer.succeed(3)], consumeErrors=True
)
dl.addCallback(
    lambda rs: say("DeferredList", [(ok, r if ok else r.type.__name__) for ok, r in rs])
)

g = defer.gatherResults([defer.succeed(1), defer.fail(IndexError("i"))], consumeErrors=True)
g.addErrback(lambda fl: say("gatherResults", fl.type.__name__, fl.value.index))


@defer.inlineCallbacks
def inline(n):
    total = 0
    for i in range(n):
        total += yield task.deferLater(reactor, 0, lambda i=i: i)
    try:
        yield defer.fail(RuntimeError("thrown in"))
    except RuntimeError as e:
        say("caught in inlineCallbacks", e)
    return total


async def coro(n):
    total = 0
    for i in range(n):
        total += await task.deferLater(reactor, 0, lambda i=i: i)
    return total


timeouts = defer.Deferred()
timeouts.addTimeout(0.01, reactor)
timeouts.addErrback(lambda fl: say("addTimeout", fl.type.__name__))

count = []


def tick():
    count.append(1)
    if len(count) == 3:
        loop.stop()


loop = task.LoopingCall(tick)
ld = loop.start(0.005, now=True)
ld.addCallback(lambda lc: say("LoopingCall stopped after", len(count), lc is loop))

lock = defer.DeferredLock()
order = []


@defer.inlineCallbacks
def locked(name):
    yield lock.acquire()
    order.append(name + "+")
    yield task.deferLater(reactor, 0.001, lambda: None)
    order.append(name + "-")
    lock.release()


@defer.inlineCallbacks
def main():
    say("inline", (yield inline(5)))
    say("coro", (yield defer.ensureDeferred(coro(5))))
    yield defer.gatherResults([locked("a"), locked("b")])
    say("lock order", order)
    q = defer.DeferredQueue()
    got = q.get()
    q.put("queued")
    say("queue", (yield got))
    yield ld
    yield task.deferLater(reactor, 0.02, lambda: None)
    reactor.stop()


reactor.callWhenRunning(main)
reactor.run()
