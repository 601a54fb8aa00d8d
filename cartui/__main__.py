"""`python -m cartui`: the same as the `cartui` command."""

from .cli import main

if __name__ == "__main__":
    main()
