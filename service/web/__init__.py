"""HTTP plumbing every capability's routes share: dependencies, negotiation, problems, bodies."""
