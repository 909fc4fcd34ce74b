"""``python -m scanner`` runs the ``piscan`` CLI."""

import sys

from .cli import main

sys.exit(main())
