"""bcdrill: business-continuity drill orchestrator."""

__version__ = "0.1.0"
