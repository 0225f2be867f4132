"""PyInstaller entry point: the `termlinker` command line."""
import sys

from termlinker.cli import main

if __name__ == "__main__":
    sys.exit(main())
