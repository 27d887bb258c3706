"""Program: the one object a host needs to run a whole points mall.

A :class:`Program` wires a :class:`ProgramConfig` — currencies, valuation, earning rules,
tiers, expiry, the offer catalogue, lotteries, conversions and the clawback, refund and
transfer policies — to a ledger on your storage and clock. Build the configuration from Python
objects, or read an operator's TOML file with :func:`load_config` (every problem reported at
once with its path). Every operation is idempotent by key and has a dry run. See
docs/program.md.
"""

from pointkit.program._async import AsyncProgram
from pointkit.program._config import (
    ProgramConfig,
    TransferPolicy,
    config_from_dict,
    config_from_toml,
    load_config,
)
from pointkit.program._config_campaigns import Campaigns
from pointkit.program._describe import describe
from pointkit.program._export import EXPORTS, export
from pointkit.program._jobs import (
    BATCHES_MAX,
    expire_all,
    expiry_summary,
    remind,
    remind_summary,
)
from pointkit.program._program import MemberProfile, Program, Recorded


__all__ = [
    "BATCHES_MAX",
    "EXPORTS",
    "AsyncProgram",
    "Campaigns",
    "MemberProfile",
    "Program",
    "ProgramConfig",
    "Recorded",
    "TransferPolicy",
    "config_from_dict",
    "config_from_toml",
    "describe",
    "expire_all",
    "expiry_summary",
    "export",
    "load_config",
    "remind",
    "remind_summary",
]
