"""mentor_notify: the server side of the peer-mentor notification system."""

__version__ = "0.1.0"
