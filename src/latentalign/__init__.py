"""latentalign: measure, learn and correct the similarity structure of representations."""
__version__ = "0.1.0"
