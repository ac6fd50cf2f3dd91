"""The audit log of key and settings changes."""
