"""Storage adapters that serve every part: accounts, records and tiers.

:class:`MemoryStorage` (the reference, thread-safe, nothing survives the process),
:mod:`pointkit.storage.sqlite` (the embedded default) and :mod:`pointkit.storage.postgres`
(production, the ``pointkit[postgres]`` extra) implement the ledger's accounts part
(:class:`pointkit.ledger.Storage`) and the features' records and tiers parts
(:mod:`pointkit.features`) on one unit of work. A host's own adapter may implement fewer:
docs/custom-storage.md shows a points-only one.
"""

from pointkit.storage.memory import MemoryStorage


__all__ = ["MemoryStorage"]
