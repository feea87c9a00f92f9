"""What single commands of the CLI show or do beyond a build: explain's text, the progress bar,
OPML import, the settings table, probe, init."""
