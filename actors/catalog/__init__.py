"""The catalog: what the registry offers and what is installed. It owns the registry, and so
writes cache/ (the registry's last copy); plugins/ it only reads, through the installer."""
