"""``python -m termlinker.cli``: the same as the ``termlinker`` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
