# A Twisted-idiom program: reactor lifecycle, triggers and timers.  Timers are
# 25 ms or more apart, so a loaded machine does not reorder them.
import sys

from twisted.internet import defer, error, reactor

out = []


def say(*words):
    print(*words, flush=True)


def trigger(name):
    say("trigger", name, "running" if reactor.running else "not-running")


reactor.addSystemEventTrigger("before", "startup", trigger, "before-startup")
reactor.addSystemEventTrigger("during", "startup", trigger, "during-startup")
reactor.addSystemEventTrigger("after", "startup", trigger, "after-startup")
reactor.callWhenRunning(say, "callWhenRunning")


def slowBefore():
    say("before-shutdown: holding")
    d = defer.Deferred()
    reactor.callLater(0.05, lambda: (say("before-shutdown: released"), d.callback(None)))
    return d


reactor.addSystemEventTrigger("before", "shutdown", slowBefore)
reactor.addSystemEventTrigger("during", "shutdown", trigger, "during-shutdown")
reactor.addSystemEventTrigger("after", "shutdown", trigger, "after-shutdown")
removed = reactor.addSystemEventTrigger("during", "shutdown", say, "never")
reactor.removeSystemEventTrigger(removed)

for i in range(5):
    reactor.callLater(0.05, say, "same-time", i)
reactor.callLater(0.1, say, "later")
c = reactor.callLater(0.075, say, "cancelled")
c.cancel()
try:
    c.cancel()
except error.AlreadyCancelled:
    say("AlreadyCancelled")
moved = reactor.callLater(10, say, "moved")
moved.reset(0.025)
delayed = reactor.callLater(0.005, say, "delayed")
delayed.delay(0.15)


def boom():
    raise ZeroDivisionError("a timer raised")


reactor.callLater(0.125, boom)


def check():
    say("active", moved.active(), delayed.active())
    try:
        moved.cancel()
    except error.AlreadyCalled:
        say("AlreadyCalled")
    say("pending", len(reactor.getDelayedCalls()))
    reactor.stop()
    try:
        reactor.stop()
    except error.ReactorNotRunning:
        say("ReactorNotRunning")


reactor.callLater(0.2, check)
reactor.run()
say("after run", reactor.running)
try:
    reactor.run()
except error.ReactorNotRestartable:
    say("ReactorNotRestartable")
sys.exit(0)
