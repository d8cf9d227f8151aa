"""What every capability needs: settings, errors, vocabulary, CRS, cache, logging."""
