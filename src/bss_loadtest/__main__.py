import sys

from bss_loadtest.cli import main

sys.exit(main())
