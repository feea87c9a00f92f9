"""One build: ingest the sources, settle, render and publish the tree, with its report and incidents."""
