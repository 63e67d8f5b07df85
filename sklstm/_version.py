"""The package version, in a leaf module so that any sklstm module can import it."""

__version__ = "0.1.0.dev0"
