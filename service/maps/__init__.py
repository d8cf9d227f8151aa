"""The web map, the print map and their pages."""
