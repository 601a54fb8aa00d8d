"""The app's dialogs: each a modal screen that dismisses with its result (None when cancelled)."""

from .cart_picker import CartPickerScreen
from .goto import GoToScreen
from .product_picker import ProductPickerScreen

__all__ = ["CartPickerScreen", "GoToScreen", "ProductPickerScreen"]
