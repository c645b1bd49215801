"""The operator's HTTP surface: the JSON API, the live feed, the pages, and who is signed in."""
