"""Hypervisor backends.  ``base`` defines the protocol; only the CLI's
composition root picks an implementation."""
