"""``python -m sim``: baseline projection (see ``sim.cli``)."""

from sim.cli import main

if __name__ == "__main__":
    main()
