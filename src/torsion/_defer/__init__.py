"""Deferreds: the core, coroutines and inlineCallbacks, tools, errors."""
