"""The product catalog: the only skus a cart accepts, with today's prices."""

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    price_cents: int
    category: str


class Catalog(Mapping[str, Product]):
    """Products by sku, in the order they were listed."""

    def __init__(self, products: Iterable[Product]) -> None:
        self._products = {p.sku: p for p in products}

    @classmethod
    def from_records(cls, records: Iterable[Mapping]) -> "Catalog":
        return cls(
            Product(str(r["sku"]), str(r["name"]), int(r["price_cents"]), str(r["category"]))
            for r in records
        )

    def records(self) -> list[dict]:
        """The products as `from_records` takes them (and `catalog --json` prints them)."""
        return [{"sku": p.sku, "name": p.name, "price_cents": p.price_cents,
                 "category": p.category} for p in self._products.values()]

    def __getitem__(self, sku: str) -> Product:
        return self._products[sku]

    def get(self, sku: str, default: Product | None = None) -> Product | None:
        # Mapping.get goes through __getitem__ and a KeyError: every AddItem asks.
        return self._products.get(sku, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._products)

    def __len__(self) -> int:
        return len(self._products)

    def names(self) -> dict[str, str]:
        return {sku: p.name for sku, p in self._products.items()}

    def categories(self) -> list[str]:
        return sorted({p.category for p in self._products.values()})
