"""Check a storage adapter against pointkit's rules: the conformance suite.

``check_storage_conformance(factory)`` runs, against storages made by *factory*:

* every line of the golden table of errors and their precedence;
* a Hypothesis state machine that drives random command sequences on a ledger over the storage
  and, in lockstep, on one over the in-memory reference, and checks after every step that both
  hold the same journal, lots, holds and balances, that both agree with a plain model of the
  documented rules, and that every ledger invariant holds.

It needs Hypothesis (``pip install pointkit[testing]``). See docs/custom-storage.md.
"""

from pointkit.testing._conformance import check_storage_conformance
from pointkit.testing._machine import snapshot


__all__ = ["check_storage_conformance", "snapshot"]
