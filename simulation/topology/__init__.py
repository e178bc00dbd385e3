"""Municipality topology: source data of districts and the seeded city generator."""
