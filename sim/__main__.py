"""``python -m sim``: baseline projection (see ``sim.cli``)."""

import sys

if __name__ == "__main__":
    try:
        from sim.cli import main
    except KeyboardInterrupt:  # Ctrl-C while the packages load
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    main()
