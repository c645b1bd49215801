"""Telling people: who is told what and when (dispatch), the notices themselves (notices, brief,
and their renderings: HTML and text templates, PDF, CAP 1.2, the map excerpt, translations), and
getting them there exactly once (delivery, sinks), with the desks' acknowledgements (acks) and the
copies kept for download (archive)."""
