"""The authority portal: the pages officers of authorities use to send and follow requests."""
