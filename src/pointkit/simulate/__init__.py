"""Simulate: forecast what a programme will cost before launch, on a synthetic population.

:func:`simulate` runs the real :class:`~pointkit.program.Program` (on memory storage) over a
population whose behaviour a small TOML file declares (:func:`load_population`; the packaged
:func:`typical_population` by default), and returns a :class:`Forecast` per programme: points
issued, consumed and expired per day, liability, breakage, the cost of points per unit of sales,
the lottery's prize cost against its expectation, offer sell-outs and the tier distribution,
each as a median with a low-high band over seeds (the runs made in worker processes at
once with ``workers=``). :func:`document` turns forecasts into JSON
data, :func:`summary` into text and :func:`report_page` into one HTML page. See
docs/simulate.md.
"""

from pointkit.simulate._engine import DAYS_MAX, MEMBERS_MAX, Day, Run, simulate_run
from pointkit.simulate._forecast import (
    SEEDS_MAX,
    WORKERS_MAX,
    Band,
    Forecast,
    document,
    simulate,
    summary,
)
from pointkit.simulate._population import (
    BalanceBand,
    Basket,
    Population,
    load_population,
    population_from_toml,
    typical_population,
)
from pointkit.simulate._report import report_page


__all__ = [
    "DAYS_MAX",
    "MEMBERS_MAX",
    "SEEDS_MAX",
    "WORKERS_MAX",
    "BalanceBand",
    "Band",
    "Basket",
    "Day",
    "Forecast",
    "Population",
    "Run",
    "document",
    "load_population",
    "population_from_toml",
    "report_page",
    "simulate",
    "simulate_run",
    "summary",
    "typical_population",
]
