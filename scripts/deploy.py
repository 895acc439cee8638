"""`python scripts/deploy.py --rpc-url URL --account ADDRESS ...`: the same as `neurolink deploy`."""

import sys

from neurolink.cli.main import main

if __name__ == "__main__":
    sys.argv = ["neurolink", "deploy", *sys.argv[1:]]
    main()
