# A Twisted-idiom program: threads and the reactor.
import threading

from twisted.internet import defer, reactor, threads


def say(*words):
    print(*words, flush=True)


results = {}


def worker(n):
    for i in range(2000):
        reactor.callFromThread(results.setdefault(n, []).append, i)


def blocking(x):
    return x * 2, threading.current_thread() is not threading.main_thread()


def useReactor():
    return threads.blockingCallFromThread(reactor, defer.succeed, "from reactor")


@defer.inlineCallbacks
def main():
    ts = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        yield threads.deferToThread(t.join)
    yield threads.deferToThread(lambda: None)
    say("callFromThread exact", all(results[n] == list(range(2000)) for n in range(8)))
    say("deferToThread", (yield threads.deferToThread(blocking, 21)))
    say("blockingCallFromThread", (yield threads.deferToThread(useReactor)))
    try:
        yield threads.deferToThread(lambda: 1 / 0)
    except ZeroDivisionError:
        say("thread failure: ZeroDivisionError")
    reactor.stop()


reactor.callWhenRunning(main)
reactor.run()
