"""The version of shardcheck, as installed."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("shardcheck")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.1.0"
