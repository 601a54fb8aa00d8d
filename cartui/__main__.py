"""`python -m cartui` and the `cartui` command.

The command line's modules load inside the handler of Ctrl-C: pressed while
they load, it ends as it does later (one `error:` line, status 130), not with
a traceback.
"""

import sys


def main() -> None:
    try:
        from .cli import main as run_command_line
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    run_command_line()


if __name__ == "__main__":
    main()
