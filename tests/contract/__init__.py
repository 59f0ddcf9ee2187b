"""The backend contract: one suite, run against the in-memory double and real VirtualBox."""
