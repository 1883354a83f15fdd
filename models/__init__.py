"""Shipped model weights and their cards; installed as the package ``videostyle._models``."""
