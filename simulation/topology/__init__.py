"""Municipality topology: source data of districts and the seeded city generator."""

__all__ = [
    "city",
    "source",
]
