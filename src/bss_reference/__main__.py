"""``python -m bss_reference``: run the reference server in the foreground."""

import sys

from bss_reference.cli import main

if __name__ == "__main__":
    sys.exit(main())
