"""Dog Breed Studio: a desktop dog-breed classifier that retrains locally."""

__version__ = "0.1.0"
