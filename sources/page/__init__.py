"""HTML listing pages (a site's tag, topic, section or author page) as sources, with no per-site code.

Pure modules: ``decode`` (bytes to text), ``structured`` (JSON-LD, microformats,
microdata), ``detect`` (the repeated-block scorer), ``items`` (one item's fields),
``select`` (the config's CSS override) and ``extract`` (all of it, in order).
"""
