"""Who may write: tokens, their store, and the request dependencies that check them."""
