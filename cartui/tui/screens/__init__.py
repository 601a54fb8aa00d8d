"""The app's dialogs: each a modal screen that dismisses with its result (None when cancelled)."""

from .cart_picker import CartPickerScreen
from .event_detail import EventDetailScreen
from .event_filter import EventFilterScreen
from .export import ExportScreen
from .goto import GoToScreen
from .help import HelpScreen
from .import_events import ImportScreen
from .new_cart import NewCartScreen
from .product_picker import ProductPickerScreen

__all__ = ["CartPickerScreen", "EventDetailScreen", "EventFilterScreen", "ExportScreen",
           "GoToScreen", "HelpScreen", "ImportScreen", "NewCartScreen", "ProductPickerScreen"]
