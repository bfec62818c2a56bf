"""Trust: certificates, certificate databases, signatures and trust decisions, as logic
over files (no network)."""
