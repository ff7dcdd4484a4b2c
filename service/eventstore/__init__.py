"""The event store: records, append and read, the hash chain, payload codec."""
