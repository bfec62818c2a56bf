"""stapserver: SystemTap's compile server, its client utilities and a portable python runtime."""

__version__ = "0.1.0"

# The SystemTap release whose language and wire protocol we follow.
SYSTEMTAP_VERSION = "4.8"
