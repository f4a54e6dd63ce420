"""Socket transports: stream connections, listening ports, connectors; TCP, UNIX, UDP, TLS."""
