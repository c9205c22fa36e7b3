"""The Train tab's widgets and its worker threads (composed by gui/train_tab.py)."""
