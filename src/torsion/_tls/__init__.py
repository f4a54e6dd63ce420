"""TLS: the sans-IO protocol over ssl.MemoryBIO, certificates, options, error mapping."""
