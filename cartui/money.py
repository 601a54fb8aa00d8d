"""Money is integer cents everywhere; this is how it reads, on every screen."""


def money(cents: int) -> str:
    """2490 -> "24.90", 123456 -> "1,234.56", -50 -> "-0.50"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{part:02d}"
