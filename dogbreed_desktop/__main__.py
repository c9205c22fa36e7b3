import multiprocessing
import sys

from dogbreed_desktop.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the frozen app re-enters here for child processes
    sys.exit(main())
