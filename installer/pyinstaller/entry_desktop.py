"""PyInstaller entry point: the desktop app."""
import sys

from termlinker_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
