# A Twisted-idiom program: structured logging (Logger) to a text file and a JSON file.
import io
import sys

from twisted.internet import reactor, task
from twisted.logger import (
    FilteringLogObserver,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    eventsFromJSONLogFile,
    formatEvent,
    globalLogBeginner,
    jsonFileLogObserver,
    textFileLogObserver,
)

jsonOut = io.StringIO()
predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)
predicate.setLogLevelForNamespace("app.noisy", LogLevel.error)
globalLogBeginner.beginLoggingTo(
    [
        FilteringLogObserver(textFileLogObserver(sys.stdout), [predicate]),
        jsonFileLogObserver(jsonOut),
    ],
    redirectStandardIO=False,
)

log = Logger(namespace="app")
log.info("starting with {count} workers", count=2)
log.debug("not shown: below info")
Logger(namespace="app.noisy").warn("not shown: app.noisy wants errors")
Logger(namespace="app.noisy.sub").error("shown: {what!r}", what="an error")


class Worker:
    log = Logger()

    def run(self, n):
        self.log.info("worker {n} at {me.name}", n=n, me=self)
        if n == 2:
            try:
                raise RuntimeError("worker failed")
            except RuntimeError:
                self.log.failure("worker {n} crashed", n=n)

    name = "w"


def stop():
    with log.failuresHandled("stopping") as op:
        pass
    log.info("stopped cleanly: {ok}", ok=op.succeeded)
    reactor.stop()


for n in (1, 2):
    reactor.callLater(0, Worker().run, n)
task.deferLater(reactor, 0.01, stop)
reactor.run()

jsonOut.seek(0)
for event in eventsFromJSONLogFile(jsonOut):
    print("json:", event["log_namespace"], event["log_level"].name, formatEvent(event))
