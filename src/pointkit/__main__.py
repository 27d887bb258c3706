"""``python -m pointkit``: the same as the ``pointkit`` command."""

import sys

from pointkit.cli import main


sys.exit(main())
