"""The reactor core: timers, triggers, the waker, threads and the main loop."""
