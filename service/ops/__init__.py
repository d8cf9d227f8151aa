"""Running the service: local PostGIS provisioning, health and readiness."""
