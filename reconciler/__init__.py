"""reconciler: keep Dynamics 365 SCM and Field Service in agreement."""

__version__ = "0.1.0"
