import sys

from jijiao.cli import main

sys.exit(main())
