"""OGC API Features: parsing queries, documents, checks of written features, SQL, routes."""
