"""Data tables: what SDKs, frameworks and libraries look like. No logic lives here."""
