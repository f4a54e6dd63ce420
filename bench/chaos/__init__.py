"""A hostile-client suite: torsion run and twist, side by side (issue 15).

Each scenario starts a real server process (``torsion run web|echo|chargen|
portforward``, or Twisted's ``twist`` / ``twisted.protocols.wire``), attacks it
as a broken network or an attacker would, bounded in count and in time, and
reports its figure and the criteria every scenario shares: no traceback in
the log, descriptors and memory back to their baseline, no loop stall over
250 ms, a clean exit on SIGTERM.  See docs/reliability.md.

    python bench/chaos            # the full form (both systems)
    python bench/chaos --short    # the short form (as tests/test_chaos_smoke.py runs it)

Modules: servers (the processes and /proc), probe (the loop probe), clients
(hostile and normal clients), fuzz (malformed requests), runner (one scenario,
the shared criteria), scenarios (what each does), cli (tables, JSON).
"""
