import sys

from tinytx.cli.app import main

sys.exit(main())
