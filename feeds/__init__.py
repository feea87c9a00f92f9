"""Feed builder: ``Article`` values to bytes (Atom, RSS, JSON Feed, HTML, OPML) to files."""
