"""The root `neurolink` command line and the helpers its command groups share."""
