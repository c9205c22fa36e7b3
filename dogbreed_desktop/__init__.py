"""Dog Breed Studio: a desktop dog-breed classifier that retrains locally."""

__version__ = "0.2.0"  # the one version number: pyproject.toml reads it from here
