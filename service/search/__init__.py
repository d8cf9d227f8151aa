"""Address search: parsing what people type, the answer, its SQL and route."""
