"""Twisted's logging APIs (``twisted.logger`` and ``twisted.python.log``) over stdlib logging.

``_levels`` (LogLevel), ``_format`` (events to text), ``_logger`` (Logger,
LoggingFile), ``_publisher`` (publishers, the bridge to and from the stdlib,
the beginner), ``_observers`` (file, filtering, stdlib observers), ``_json``
(JSON log files) and ``_legacy`` (msg, err, startLogging).  The public
modules are ``torsion.logger`` and ``torsion.log``.
"""
