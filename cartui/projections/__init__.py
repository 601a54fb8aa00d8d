"""Read models folded from the global event log.

model.py defines the figures (`fold_projections` is the plain fold they
must equal); folds.py folds them from any checkpoint; projector.py keeps the
stored ones caught up (or rebuilds them); reader.py answers "as of P".
"""

from .model import ABANDONED_AFTER, ProductFigures, Projections, fold_projections, hour_of
from .projector import CHECKPOINT_EVERY, ProgressLine, ProjectionLag, Projector
from .reader import ProjectionReader

__all__ = ["ABANDONED_AFTER", "ProductFigures", "Projections", "fold_projections", "hour_of",
           "CHECKPOINT_EVERY", "ProgressLine", "ProjectionLag", "Projector", "ProjectionReader"]
