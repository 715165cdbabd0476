"""Lambda runtime code behind the DMS replication task starter custom resource."""
