"""Child processes: spawning, pipes, reaping, the process transports, stdio."""
