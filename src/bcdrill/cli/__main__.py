import sys

from bcdrill.cli.main import main

sys.exit(main())
