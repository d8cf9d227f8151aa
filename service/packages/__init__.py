"""Data packages and deliveries: format, validation, seeding, import, export."""
