"""Featured Image Bridge: gives every WordPress post an AI-generated featured image."""

__version__ = "0.1.0"
