"""OGC API Tiles: Mapbox Vector Tiles of every collection and of the address coverage."""
