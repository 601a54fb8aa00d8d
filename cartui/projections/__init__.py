"""Read models folded from the global event log."""

from .model import ABANDONED_AFTER, ProductFigures, Projections, fold_projections, hour_of

__all__ = ["ABANDONED_AFTER", "ProductFigures", "Projections", "fold_projections", "hour_of"]
