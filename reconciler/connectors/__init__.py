"""Connectors: SCM (F&O OData) and FS (Dataverse Web API) behind one Protocol."""

from reconciler.connectors.base import Connector, Created, Link, Row

__all__ = ["Connector", "Created", "Link", "Row"]
