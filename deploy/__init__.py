"""Putting Plugvisor on a device: the systemd unit (``python run.py install-service``)."""
