"""`voiceroutine share`: the built routines on a page, a podcast feed and a QR code, on the home network."""
