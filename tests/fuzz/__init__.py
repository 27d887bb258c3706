"""The fuzz suite: hostile values at every public entry point of pointkit.

Each test drives one entry point (the ledger, the Program, the configuration loader and
``pointkit check``) with values a careless or hostile host could send, and holds every call to
one contract: it succeeds, or it raises a :class:`~pointkit.exceptions.PointkitError` and
leaves the storage as it was; the audit passes at the end of every example. ``make fuzz``
runs the same tests under the ``fuzz`` Hypothesis profile, with many more examples.
"""
