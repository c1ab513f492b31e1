"""The ``etsygen`` command."""
