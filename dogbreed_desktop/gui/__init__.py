"""The PySide6 window. Everything here calls the Qt-free core; nothing in the core imports this."""
