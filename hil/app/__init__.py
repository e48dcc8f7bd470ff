"""The application layer: the ``hil`` command line and the demo.

The only code that may import every layer (base, drivers, sim, models,
protocols); nothing below imports it.
"""
