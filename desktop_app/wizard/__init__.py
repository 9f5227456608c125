"""The model training wizard, the Models dialog, and how they hook into the main window."""
