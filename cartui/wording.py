"""How counts read, the same in the command line and in the app."""


def many(n: int, noun: str) -> str:
    """'1 event', '2,535 events'."""
    return f"1 {noun}" if n == 1 else f"{n:,} {noun}s"
