import sys

from bcdrill.cli import main

sys.exit(main())
